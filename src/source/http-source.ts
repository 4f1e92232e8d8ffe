import { STATUS_CODES, type IncomingHttpHeaders } from 'node:http'
import { rootCertificates } from 'node:tls'
import { Agent, interceptors, type Dispatcher } from 'undici'
import { systemClock, type Clock } from '../common/clock.js'
import { endSafeConnector } from '../common/end-safe-connector.js'
import { silentLogger, type Logger } from '../common/logger.js'
import { VERSION } from '../common/version.js'
import { DamselflyError } from '../protocol/damselfly-error.js'
import type { AddressPolicy } from './address-policy.js'
import { countedBody } from './counted-body.js'
import {
  headerValue, originHeaders, parseContentLength, parseContentRange, parseUnsatisfiedRange, printableUrl,
} from './http-headers.js'
import { parseBasicAuthorization } from './basic-credentials.js'
import { registryRepository } from './manifest-url.js'
import { mapHttpError, type HttpFailureContext } from './map-http-error.js'
import { policyConnector } from './policy-connector.js'
import { RegistryAuthorizer, type RegistryAccess } from './registry-authorizer.js'
import type { ByteRange, Source, SourceRequest, SourceResponse, SourceStat } from './source.js'
import { parseWwwAuthenticate } from './www-authenticate.js'

/** Collaborators of an {@link HttpSource}. */
export interface HttpSourceComponents {
  readonly logger?: Logger
  /** Tells when a cached registry token is due for renewal. */
  readonly clock?: Clock
}

/** The slice of configuration an {@link HttpSource} needs. All durations in milliseconds. */
export interface HttpSourceInit {
  /** A PEM bundle trusted in addition to the system's roots, for origins with a private CA. */
  readonly caCertPem?: string | undefined
  /** Accept any certificate. For test origins only: it disables TLS verification entirely. */
  readonly insecureSkipVerify?: boolean
  readonly connectTimeoutMs: number
  /** From sending the request to receiving the whole response head. */
  readonly headersTimeoutMs: number
  /** The longest silence allowed between two body chunks. */
  readonly bodyIdleTimeoutMs: number
  /** Redirects followed per request; 5 unless set, 0 turns them off. */
  readonly maxRedirections?: number
  /** Sent when the caller's headers carry no User-Agent. */
  readonly userAgent?: string
  /**
   * When set, every connection (to the origin and to each redirect target) is opened only to an
   * address the policy allows; a refused one fails with SOURCE_NOT_ALLOWED. Unset: any address.
   */
  readonly addressPolicy?: AddressPolicy | undefined
  /** Registry tokens kept at most, got for clients that send Basic credentials to a Bearer registry; 1,000 unless set. */
  readonly registryTokenCacheSize?: number
}

const DEFAULT_MAX_REDIRECTIONS = 5
const DEFAULT_REGISTRY_TOKEN_CACHE_SIZE = 1_000
const DEFAULT_USER_AGENT = `damselfly/${VERSION}`
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308])

type Method = 'GET' | 'HEAD'

/** A response whose URL is the one the last redirect led to. */
interface OriginResponse {
  readonly statusCode: number
  readonly headers: IncomingHttpHeaders
  readonly body: Dispatcher.ResponseData['body']
  readonly url: URL
}

/** Back-to-source over HTTP/1.1 with keep-alive, following redirects, for http and https URLs. */
export class HttpSource implements Source {
  readonly schemes = ['http', 'https'] as const
  private readonly agent: Agent
  private readonly dispatcher: Dispatcher
  private readonly logger: Logger
  private readonly userAgent: string
  private readonly registryAuth: RegistryAuthorizer
  private closed: Promise<void> | undefined

  constructor(components: HttpSourceComponents, private readonly init: HttpSourceInit) {
    this.logger = (components.logger ?? silentLogger()).child({ component: 'http-source' })
    this.userAgent = init.userAgent ?? DEFAULT_USER_AGENT
    const connect = {
      timeout: init.connectTimeoutMs,
      rejectUnauthorized: init.insecureSkipVerify !== true,
      // Node's `ca` replaces the system roots; a private CA should add to them instead.
      ...(init.caCertPem === undefined ? {} : { ca: [...rootCertificates, init.caCertPem] }),
    }
    this.agent = new Agent({
      connect: endSafeConnector(init.addressPolicy === undefined ? connect : policyConnector({ policy: init.addressPolicy }, connect)),
      headersTimeout: init.headersTimeoutMs,
      bodyTimeout: init.bodyIdleTimeoutMs,
    })
    // undici only reports framing errors on a socket no request owns any more (bytes past
    // Content-Length) as a disconnect, so this is the one place they can be seen.
    this.agent.on('disconnect', (origin, _targets, error) => {
      if (isFramingError(error)) this.logger.warn({ origin: String(origin), err: error }, 'origin broke http framing')
    })
    this.dispatcher = this.agent.compose(
      interceptors.redirect({ maxRedirections: init.maxRedirections ?? DEFAULT_MAX_REDIRECTIONS }),
    )
    // Token services are reached through the same dispatcher, so an address policy binds them too.
    this.registryAuth = new RegistryAuthorizer(
      { dispatcher: this.dispatcher, clock: components.clock ?? systemClock, logger: this.logger },
      { tokenCacheSize: init.registryTokenCacheSize ?? DEFAULT_REGISTRY_TOKEN_CACHE_SIZE, userAgent: this.userAgent },
    )
  }

  async stat(request: SourceRequest): Promise<SourceStat> {
    const head = await this.send(request, 'HEAD', undefined)
    await head.body.dump()
    if (isSuccess(head.statusCode)) {
      return {
        contentLengthBytes: parseContentLength(headerValue(head.headers, 'content-length')),
        rangeSupported: acceptsByteRanges(head.headers),
        ...validators(head.headers),
      }
    }
    // Presigned GET-only URLs answer HEAD with 403 and some origins refuse it with 405.
    this.logger.debug({ url: printableUrl(head.url), status: head.statusCode }, 'head refused, probing with a ranged get')
    const probe = await this.send(request, 'GET', 'bytes=0-0')
    await probe.body.dump()
    this.throwIfCancelled(request)
    if (probe.statusCode === 206) {
      const range = parseContentRange(headerValue(probe.headers, 'content-range'))
      if (range === undefined) throw malformedContentRange(probe)
      return { contentLengthBytes: range.completeLengthBytes, rangeSupported: true, ...validators(probe.headers) }
    }
    if (probe.statusCode === 200) {
      return {
        contentLengthBytes: parseContentLength(headerValue(probe.headers, 'content-length')),
        rangeSupported: false,
        ...validators(probe.headers),
      }
    }
    // An empty content has no byte 0, so a correct origin refuses the probe and says why.
    if (probe.statusCode === 416 && parseUnsatisfiedRange(headerValue(probe.headers, 'content-range')) === 0) {
      return { contentLengthBytes: 0, rangeSupported: true, ...validators(probe.headers) }
    }
    throw statusError(probe)
  }

  async fetchRange(request: SourceRequest, range: ByteRange): Promise<SourceResponse> {
    if (!Number.isSafeInteger(range.offset) || range.offset < 0 || !Number.isSafeInteger(range.length) || range.length < 1) {
      throw new DamselflyError('INVALID_ARGUMENT', `byte range needs a non-negative offset and a positive length, got offset ${range.offset} length ${range.length}`)
    }
    const lastByte = range.offset + range.length - 1
    const response = await this.send(request, 'GET', `bytes=${range.offset}-${lastByte}`)
    if (response.statusCode !== 206) {
      await response.body.dump()
      if (response.statusCode === 200) {
        throw new DamselflyError('SOURCE_RANGE_UNSUPPORTED', `origin ignored the range request for ${printableUrl(response.url)} and answered 200`)
      }
      throw statusError(response)
    }
    const answered = parseContentRange(headerValue(response.headers, 'content-range'))
    if (answered === undefined) {
      await response.body.dump()
      throw malformedContentRange(response)
    }
    if (answered.firstByte !== range.offset || answered.lastByte !== lastByte) {
      await response.body.dump()
      throw new DamselflyError('SOURCE_TRUNCATED', `origin answered bytes ${answered.firstByte}-${answered.lastByte} for bytes ${range.offset}-${lastByte} of ${printableUrl(response.url)}`)
    }
    const announced = parseContentLength(headerValue(response.headers, 'content-length'))
    if (announced !== undefined && announced !== range.length) {
      await response.body.dump()
      throw new DamselflyError('SOURCE_TRUNCATED', `origin announced ${announced} bytes for a ${range.length}-byte range of ${printableUrl(response.url)}`)
    }
    return { contentLengthBytes: range.length, body: this.countedBody(request, response, range.length) }
  }

  async fetch(request: SourceRequest): Promise<SourceResponse> {
    const response = await this.send(request, 'GET', undefined)
    // No Range was sent, so a 206 is not the whole content.
    if (!isSuccess(response.statusCode) || response.statusCode === 206) {
      await response.body.dump()
      throw statusError(response)
    }
    const lengthBytes = parseContentLength(headerValue(response.headers, 'content-length'))
    return { contentLengthBytes: lengthBytes, body: this.countedBody(request, response, lengthBytes) }
  }

  close(): Promise<void> {
    this.closed ??= this.agent.close()
    return this.closed
  }

  /**
   * A client's Basic credentials for a registry that wants Bearer tokens (a 401 with a Bearer
   * challenge) are exchanged for a pull token, as the client's own runtime would, once per
   * request; the token is cached and sent straight away next time, and forgotten if refused.
   */
  private async send(request: SourceRequest, method: Method, range: string | undefined): Promise<OriginResponse> {
    const access = registryAccessOf(request)
    if (access === undefined) return this.sendOnce(request, method, range, undefined)
    const cached = this.registryAuth.cachedAuthorization(access)
    const first = await this.sendOnce(request, method, range, cached)
    const challenge = first.statusCode === 401 ? parseWwwAuthenticate(first.headers['www-authenticate']) : undefined
    if (challenge?.scheme !== 'bearer') return first
    await first.body.dump()
    if (cached !== undefined) this.registryAuth.forget(access)
    const authorization = await this.registryAuth.answerChallenge(challenge, access)
    return this.sendOnce(request, method, range, authorization)
  }

  private async sendOnce(request: SourceRequest, method: Method, range: string | undefined, authorization: string | undefined): Promise<OriginResponse> {
    const headers = originHeaders(request.headers, { userAgent: this.userAgent })
    if (range !== undefined) headers['range'] = range
    if (authorization !== undefined) headers['authorization'] = authorization
    let response: Dispatcher.ResponseData
    try {
      response = await this.dispatcher.request({
        origin: request.url.origin,
        path: `${request.url.pathname}${request.url.search}`,
        method,
        headers,
        signal: request.signal,
      })
    } catch (error) {
      throw mapHttpError(error, this.failureContext(request, request.url, 'request'))
    }
    const url = lastRedirect(response.context) ?? request.url
    this.logger.debug({ method, url: printableUrl(url), status: response.statusCode }, 'origin answered')
    return { statusCode: response.statusCode, headers: response.headers, body: response.body, url }
  }

  private countedBody(request: SourceRequest, response: OriginResponse, expectedBytes: number | undefined): SourceResponse['body'] {
    const context = this.failureContext(request, response.url, 'body')
    return countedBody(response.body, {
      expectedBytes,
      signal: request.signal,
      describe: `body of ${printableUrl(response.url)}`,
      mapError: (error) => mapHttpError(error, context),
    })
  }

  private failureContext(request: SourceRequest, url: URL, phase: HttpFailureContext['phase']): HttpFailureContext {
    return {
      phase,
      url,
      signal: request.signal,
      headersTimeoutMs: this.init.headersTimeoutMs,
      bodyIdleTimeoutMs: this.init.bodyIdleTimeoutMs,
      connectTimeoutMs: this.init.connectTimeoutMs,
    }
  }

  private throwIfCancelled(request: SourceRequest): void {
    if (request.signal.aborted) {
      throw new DamselflyError('CANCELLED', `request to ${printableUrl(request.url)} was cancelled`, { cause: request.signal.reason })
    }
  }
}

/** The registry, repository and account of a request to a registry API URL with Basic credentials; undefined otherwise. */
function registryAccessOf(request: SourceRequest): RegistryAccess | undefined {
  const repository = registryRepository(request.url)
  if (repository === undefined) return undefined
  const authorization = Object.entries(request.headers).find(([name]) => name.toLowerCase() === 'authorization')?.[1]
  const credentials = parseBasicAuthorization(authorization)
  if (credentials === undefined) return undefined
  return { registry: new URL(request.url.origin), repository, credentials, signal: request.signal }
}

function isSuccess(statusCode: number): boolean {
  return statusCode >= 200 && statusCode < 300
}

function acceptsByteRanges(headers: IncomingHttpHeaders): boolean {
  const value = headerValue(headers, 'accept-ranges') ?? ''
  return value.split(',').some((unit) => unit.trim().toLowerCase() === 'bytes')
}

function validators(headers: IncomingHttpHeaders): Pick<SourceStat, 'etag' | 'lastModified' | 'contentType'> {
  const etag = headerValue(headers, 'etag')
  const lastModified = headerValue(headers, 'last-modified')
  const contentType = headerValue(headers, 'content-type')
  return {
    ...(etag === undefined ? {} : { etag }),
    ...(lastModified === undefined ? {} : { lastModified }),
    ...(contentType === undefined ? {} : { contentType }),
  }
}

function statusError(response: OriginResponse): DamselflyError {
  const { statusCode } = response
  const reason = STATUS_CODES[statusCode] ?? 'Unknown Status'
  const limit = REDIRECT_STATUSES.has(statusCode) && headerValue(response.headers, 'location') !== undefined
    ? ' (redirect not followed: limit reached)'
    : ''
  return new DamselflyError(
    'SOURCE_STATUS',
    `origin answered ${statusCode} ${reason} for ${printableUrl(response.url)}${limit}`,
    { details: { sourceStatus: statusCode } },
  )
}

function malformedContentRange(response: OriginResponse): DamselflyError {
  const value = headerValue(response.headers, 'content-range')
  return new DamselflyError(
    'SOURCE_RANGE_UNSUPPORTED',
    `origin answered 206 for ${printableUrl(response.url)} with an unusable Content-Range ${JSON.stringify(value ?? null)}`,
  )
}

/**
 * The redirect interceptor records every URL it visited; the last is the one that answered.
 * undici types `context` as an object but leaves it undefined when no interceptor ran.
 */
function lastRedirect(context: unknown): URL | undefined {
  if (typeof context !== 'object' || context === null || !('history' in context) || !Array.isArray(context.history)) return undefined
  const last: unknown = context.history.at(-1)
  return last instanceof URL ? last : undefined
}

function isFramingError(error: Error): boolean {
  const code = 'code' in error && typeof error.code === 'string' ? error.code : ''
  return code.startsWith('HPE_') || code === 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH' ||
    (code === 'UND_ERR_SOCKET' && error.message === 'bad response')
}
