import { createHmac, randomBytes } from 'node:crypto'
import { STATUS_CODES } from 'node:http'
import type { Dispatcher } from 'undici'
import type { Clock } from '../common/clock.js'
import { silentLogger, type Logger } from '../common/logger.js'
import { VERSION } from '../common/version.js'
import { DamselflyError } from '../protocol/damselfly-error.js'
import { basicAuthorization, type RegistryCredentials } from './basic-credentials.js'
import { headerValue, printableUrl } from './http-headers.js'
import { registryGet } from './registry-request.js'
import { parseWwwAuthenticate, type AuthChallenge } from './www-authenticate.js'
import { BoundedMap } from '../common/bounded-map.js'

/** Collaborators of a {@link RegistryAuthorizer}. */
export interface RegistryAuthorizerComponents {
  /** Every request (ping and token service) goes through it: bind it to an address policy where needed. */
  readonly dispatcher: Dispatcher
  /** Tells when a cached token is due for renewal. */
  readonly clock: Clock
  readonly logger?: Logger
}

/** The slice of configuration a {@link RegistryAuthorizer} needs. */
export interface RegistryAuthorizerInit {
  /** Tokens kept at most, one per realm, service, scope and account; the least recently used goes first. */
  readonly tokenCacheSize: number
  readonly userAgent?: string
}

/** Which repository of which registry, on whose behalf; every call takes its own deadline. */
export interface RegistryAccess {
  /** The registry's origin, `https://reg.example` (a path is ignored). */
  readonly registry: URL
  /** `library/alpine` */
  readonly repository: string
  /** Undefined for an anonymous client. */
  readonly credentials: RegistryCredentials | undefined
  readonly signal: AbortSignal
}

/** A {@link RegistryAccess} with the `Authorization` value the caller brought, if any. */
export interface AuthorizeRequest extends RegistryAccess {
  /** Used as is (Harbor hands out a ready registry token); replaced only if the registry refuses it and credentials are given. */
  readonly authorization: string | undefined
}

/** Tokens live `expires_in` seconds; distribution's spec says 60 when the service leaves it out. */
const DEFAULT_TOKEN_LIFETIME_SECONDS = 60
/** A token is renewed this long before it expires (at most a tenth of its life), so no request carries one that expires in flight. */
const RENEWAL_MARGIN_MS = 30_000
const MAX_TOKEN_RESPONSE_BYTES = 1024 * 1024
const MAX_PING_RESPONSE_BYTES = 64 * 1024

interface CachedToken {
  readonly token: string
  readonly renewAtMs: number
}

/** Where a registry sends clients for tokens, from its last Bearer challenge. */
interface TokenService {
  readonly realm: string
  readonly service: string | undefined
}

/**
 * Finds the `Authorization` value a registry wants for pulling from one repository, as a
 * container runtime does: `GET /v2/`, then on 401 the challenge it names. Bearer: a token from
 * the realm for `repository:<name>:pull`, asked with the account as HTTP Basic (anonymously
 * without one), cached per realm, service, scope and account until shortly before it expires;
 * Basic: the account itself. Account secrets are never logged nor used as a key: the cache keys
 * an HMAC of them under a key made per instance. Safe to call concurrently: callers asking for the
 * same token at once share one request to the realm.
 */
export class RegistryAuthorizer {
  private readonly logger: Logger
  private readonly userAgent: string
  private readonly tokens: BoundedMap<string, CachedToken>
  private readonly tokenServices: BoundedMap<string, TokenService>
  private readonly pending = new Map<string, Promise<string>>()
  private readonly fingerprintKey = randomBytes(32)

  constructor(private readonly components: RegistryAuthorizerComponents, init: RegistryAuthorizerInit) {
    this.logger = (components.logger ?? silentLogger()).child({ component: 'registry-authorizer' })
    this.userAgent = init.userAgent ?? `damselfly/${VERSION}`
    this.tokens = new BoundedMap(init.tokenCacheSize)
    this.tokenServices = new BoundedMap(init.tokenCacheSize)
  }

  /**
   * The `Authorization` value to pull from `request.repository`, or undefined for a registry that
   * lets anyone in. SOURCE_STATUS (details.sourceStatus 401) when the registry refuses the given
   * header and there is no account to fall back on, when it wants an account and none is given, or
   * when the token service refuses the account; SOURCE_UNREACHABLE, SOURCE_TIMEOUT, CANCELLED.
   */
  async authorize(request: AuthorizeRequest): Promise<string | undefined> {
    const subject = describeAccess(request)
    const url = new URL('/v2/', request.registry)
    const headers: Record<string, string> = { 'user-agent': this.userAgent }
    if (request.authorization !== undefined) headers['authorization'] = request.authorization
    const ping = await registryGet(this.components.dispatcher, { url, headers, signal: request.signal, maxBodyBytes: MAX_PING_RESPONSE_BYTES, subject })
    if (ping.statusCode >= 200 && ping.statusCode < 300) return request.authorization
    if (ping.statusCode !== 401) throw statusError(subject, `the registry answered ${statusText(ping.statusCode)} to GET ${printableUrl(url)}`, ping.statusCode)
    if (request.authorization !== undefined && request.credentials === undefined) {
      throw statusError(subject, 'the registry refused the Authorization header given (401 Unauthorized)', 401)
    }
    const challenge = parseWwwAuthenticate(ping.headers['www-authenticate'])
    if (challenge === undefined) throw statusError(subject, 'the registry answered 401 Unauthorized with no Bearer or Basic challenge', 401)
    return this.answerChallenge(challenge, request)
  }

  /**
   * The `Authorization` value that answers `challenge`, a registry's `WWW-Authenticate` for a
   * request to `access.repository`: a Bearer token (cached) or the account as Basic. Fails as
   * {@link authorize} does.
   */
  async answerChallenge(challenge: AuthChallenge, access: RegistryAccess): Promise<string> {
    const subject = describeAccess(access)
    if (challenge.scheme === 'basic') {
      if (access.credentials === undefined) throw statusError(subject, 'the registry wants a username and password (401 Unauthorized)', 401)
      return basicAuthorization(access.credentials)
    }
    const realm = challenge.realm === undefined ? undefined : parseRealm(challenge.realm)
    if (realm === undefined) {
      throw new DamselflyError('SOURCE_UNREACHABLE', `${subject}: the registry's Bearer challenge names no http(s) realm to get a token from`)
    }
    const tokenService: TokenService = { realm: realm.href, service: challenge.service }
    this.tokenServices.set(access.registry.origin, tokenService)
    return `Bearer ${await this.token(tokenService, access, subject)}`
  }

  /** The Bearer value already cached for this registry, repository and account, with no I/O; undefined when none is. */
  cachedAuthorization(access: Omit<RegistryAccess, 'signal'>): string | undefined {
    const tokenService = this.tokenServices.get(access.registry.origin)
    if (tokenService === undefined) return undefined
    const cached = this.tokens.get(this.tokenKey(tokenService, access))
    return cached === undefined || this.components.clock.nowMs() >= cached.renewAtMs ? undefined : `Bearer ${cached.token}`
  }

  /** Drops the cached token for this registry, repository and account: the registry refused it. */
  forget(access: Omit<RegistryAccess, 'signal'>): void {
    const tokenService = this.tokenServices.get(access.registry.origin)
    if (tokenService !== undefined) this.tokens.delete(this.tokenKey(tokenService, access))
  }

  private async token(tokenService: TokenService, access: RegistryAccess, subject: string): Promise<string> {
    const key = this.tokenKey(tokenService, access)
    const cached = this.tokens.get(key)
    if (cached !== undefined && this.components.clock.nowMs() < cached.renewAtMs) return cached.token
    let asking = this.pending.get(key)
    if (asking === undefined) {
      asking = this.fetchToken(tokenService, access, key, subject).finally(() => this.pending.delete(key))
      this.pending.set(key, asking)
    }
    return asking
  }

  private async fetchToken(tokenService: TokenService, access: RegistryAccess, key: string, subject: string): Promise<string> {
    const url = new URL(tokenService.realm)
    if (tokenService.service !== undefined) url.searchParams.set('service', tokenService.service)
    url.searchParams.set('scope', pullScope(access.repository))
    const headers: Record<string, string> = { 'user-agent': this.userAgent }
    if (access.credentials !== undefined) headers['authorization'] = basicAuthorization(access.credentials)
    const answer = await registryGet(this.components.dispatcher, { url, headers, signal: access.signal, maxBodyBytes: MAX_TOKEN_RESPONSE_BYTES, subject })
    if (answer.statusCode < 200 || answer.statusCode > 299) {
      const who = access.credentials === undefined ? 'an anonymous request' : 'these credentials'
      throw statusError(subject, `the token service ${url.host} refused ${who} (${statusText(answer.statusCode)})`, answer.statusCode)
    }
    const parsed = parseTokenResponse(answer.body)
    if (parsed === undefined) {
      throw new DamselflyError('SOURCE_UNREACHABLE', `${subject}: the token service ${url.host} answered ${answer.statusCode} without a token (${headerValue(answer.headers, 'content-type') ?? 'no content type'})`)
    }
    const lifetimeMs = parsed.expiresInSeconds * 1000
    const renewAtMs = this.components.clock.nowMs() + lifetimeMs - Math.min(RENEWAL_MARGIN_MS, lifetimeMs / 10)
    this.tokens.set(key, { token: parsed.token, renewAtMs })
    this.logger.debug({ registry: access.registry.origin, repository: access.repository, realm: printableUrl(url), expiresInSeconds: parsed.expiresInSeconds }, 'registry token issued')
    return parsed.token
  }

  private tokenKey(tokenService: TokenService, access: Omit<RegistryAccess, 'signal'>): string {
    const account = access.credentials === undefined
      ? 'anonymous'
      : createHmac('sha256', this.fingerprintKey).update(JSON.stringify([access.credentials.username, access.credentials.password])).digest('hex')
    return JSON.stringify([tokenService.realm, tokenService.service ?? '', pullScope(access.repository), account])
  }
}

/** `registry reg.example, repository library/alpine`: how every message of this module starts. */
export function describeAccess(access: { registry: URL; repository: string }): string {
  return `registry ${access.registry.host}, repository ${access.repository}`
}

function pullScope(repository: string): string {
  return `repository:${repository}:pull`
}

function parseRealm(realm: string): URL | undefined {
  try {
    const url = new URL(realm)
    return url.protocol === 'https:' || url.protocol === 'http:' ? url : undefined
  } catch {
    return undefined
  }
}

function statusText(statusCode: number): string {
  return `${statusCode} ${STATUS_CODES[statusCode] ?? 'Unknown Status'}`
}

function statusError(subject: string, what: string, statusCode: number): DamselflyError {
  return new DamselflyError('SOURCE_STATUS', `${subject}: ${what}`, { details: { sourceStatus: statusCode } })
}

/** A token service's JSON: `token` (or OAuth2's `access_token`) and `expires_in` seconds. */
export function parseTokenResponse(body: Buffer): { token: string; expiresInSeconds: number } | undefined {
  let value: unknown
  try {
    value = JSON.parse(body.toString('utf8'))
  } catch {
    return undefined
  }
  if (typeof value !== 'object' || value === null) return undefined
  const fields = value as Record<string, unknown>
  const token = [fields['token'], fields['access_token']].find((candidate): candidate is string => typeof candidate === 'string' && candidate !== '')
  if (token === undefined) return undefined
  const expiresIn = fields['expires_in']
  const expiresInSeconds = typeof expiresIn === 'number' && Number.isFinite(expiresIn) && expiresIn > 0 ? expiresIn : DEFAULT_TOKEN_LIFETIME_SECONDS
  return { token, expiresInSeconds }
}
