import { createHash } from 'node:crypto'
import { Headers as UndiciHeaders, MockAgent } from 'undici'
import { basicAuthorization, type RegistryCredentials } from './basic-credentials.js'

// A registry and its token service behind undici's MockAgent: no sockets (excluded from the
// build as a *-fixtures.ts file).

export const REGISTRY = 'https://reg.test'
export const REALM = 'https://auth.test/token'
export const SERVICE = 'reg.test'
export const ACCOUNT: RegistryCredentials = { username: 'puller', password: 's3cret-pw' }

export interface FakeRegistryOptions {
  /** How the registry lets clients in. */
  readonly auth: 'anonymous' | 'basic' | 'bearer'
  /** `expires_in` of each token; left out of the answer when undefined. */
  readonly tokenTtlSeconds?: number | undefined
  /** The field the token service puts the token in. */
  readonly tokenField?: 'token' | 'access_token'
}

/** One request either origin received. */
export interface SeenRequest {
  readonly origin: string
  readonly path: string
  readonly authorization: string | undefined
  readonly accept: string | undefined
}

interface StoredManifest {
  readonly body: Buffer
  readonly contentType: string
}

export function sha256Digest(body: Buffer): string {
  return `sha256:${createHash('sha256').update(body).digest('hex')}`
}

/** A registry holding manifests, with an optional token service that grants pull to {@link ACCOUNT} only. */
export class FakeRegistry {
  readonly agent = new MockAgent()
  readonly seen: SeenRequest[] = []
  private readonly manifests = new Map<string, StoredManifest>()
  /** Token → the repositories it may pull; anonymous tokens grant none. */
  private readonly tokens = new Map<string, ReadonlySet<string>>()
  private issued = 0

  constructor(private readonly options: FakeRegistryOptions) {
    this.agent.disableNetConnect()
    this.agent.get(REGISTRY).intercept({ path: () => true, method: 'GET' }).reply((request) => this.registry(request.path, headersOf(request.headers))).persist()
    this.agent.get(new URL(REALM).origin).intercept({ path: () => true, method: 'GET' }).reply((request) => this.tokenService(request.path, headersOf(request.headers))).persist()
  }

  /** Stores a manifest under its digest and under `tag`, when given; returns its digest. */
  put(repository: string, manifest: object | Buffer, contentType: string, tag?: string): string {
    const body = Buffer.isBuffer(manifest) ? manifest : Buffer.from(JSON.stringify(manifest))
    const digest = sha256Digest(body)
    this.manifests.set(`${repository}@${digest}`, { body, contentType })
    if (tag !== undefined) this.manifests.set(`${repository}@${tag}`, { body, contentType })
    return digest
  }

  /** Serves other bytes under an existing reference, as a corrupt store would. */
  corrupt(repository: string, reference: string, body: Buffer): void {
    const stored = this.manifests.get(`${repository}@${reference}`)
    if (stored !== undefined) this.manifests.set(`${repository}@${reference}`, { ...stored, body })
  }

  /** The registry stops taking every token issued so far. */
  revokeTokens(): void {
    this.tokens.clear()
  }

  tokenRequests(): SeenRequest[] {
    return this.seen.filter((request) => request.origin === new URL(REALM).origin)
  }

  registryRequests(): SeenRequest[] {
    return this.seen.filter((request) => request.origin === REGISTRY)
  }

  async close(): Promise<void> {
    await this.agent.close()
  }

  private registry(path: string, headers: Record<string, string>): Reply {
    this.seen.push({ origin: REGISTRY, path, authorization: headers['authorization'], accept: headers['accept'] })
    const manifest = /^\/v2\/(.+)\/manifests\/([^/]+)$/.exec(path)
    const repository = manifest?.[1]
    if (!this.allowed(headers['authorization'], repository)) return this.challenge(repository)
    if (path === '/v2/') return { statusCode: 200, data: '{}', responseOptions: { headers: { 'content-type': 'application/json' } } }
    const stored = manifest === null ? undefined : this.manifests.get(`${repository ?? ''}@${manifest[2] ?? ''}`)
    if (stored === undefined) return { statusCode: 404, data: '{"errors":[{"code":"MANIFEST_UNKNOWN"}]}' }
    return { statusCode: 200, data: stored.body, responseOptions: { headers: { 'content-type': stored.contentType, 'content-length': String(stored.body.length) } } }
  }

  private allowed(authorization: string | undefined, repository: string | undefined): boolean {
    if (this.options.auth === 'anonymous') return true
    if (this.options.auth === 'basic') return authorization === basicAuthorization(ACCOUNT)
    const token = /^Bearer (.+)$/.exec(authorization ?? '')?.[1]
    const grants = token === undefined ? undefined : this.tokens.get(token)
    return grants !== undefined && (repository === undefined || grants.has(repository))
  }

  private challenge(repository: string | undefined): Reply {
    const scope = repository === undefined ? '' : `,scope="repository:${repository}:pull"`
    const header = this.options.auth === 'basic' ? 'Basic realm="fake"' : `Bearer realm="${REALM}",service="${SERVICE}"${scope}`
    return { statusCode: 401, data: '{"errors":[{"code":"UNAUTHORIZED"}]}', responseOptions: { headers: { 'www-authenticate': header } } }
  }

  private tokenService(path: string, headers: Record<string, string>): Reply {
    this.seen.push({ origin: new URL(REALM).origin, path, authorization: headers['authorization'], accept: headers['accept'] })
    const url = new URL(path, REALM)
    const authorization = headers['authorization']
    if (authorization !== undefined && authorization !== basicAuthorization(ACCOUNT)) return { statusCode: 401, data: '{"details":"incorrect username or password"}' }
    const scope = url.searchParams.get('scope') ?? ''
    const repository = /^repository:(.+):pull$/.exec(scope)?.[1]
    const token = `tok-${++this.issued}`
    this.tokens.set(token, new Set(authorization === undefined || repository === undefined ? [] : [repository]))
    const answer: Record<string, unknown> = { [this.options.tokenField ?? 'token']: token }
    if (this.options.tokenTtlSeconds !== undefined) answer['expires_in'] = this.options.tokenTtlSeconds
    return { statusCode: 200, data: JSON.stringify(answer), responseOptions: { headers: { 'content-type': 'application/json' } } }
  }
}

interface Reply {
  readonly statusCode: number
  readonly data: string | Buffer
  readonly responseOptions?: { headers: Record<string, string> }
}

function headersOf(headers: UndiciHeaders | Record<string, string> | undefined): Record<string, string> {
  if (headers === undefined) return {}
  const entries = headers instanceof UndiciHeaders ? [...headers.entries()] : Object.entries(headers)
  return Object.fromEntries(entries.map(([name, value]) => [name.toLowerCase(), value]))
}
