import { createHash, createPrivateKey, randomUUID, sign, timingSafeEqual, X509Certificate, type KeyObject } from 'node:crypto'
import { mkdirSync, readFileSync } from 'node:fs'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { selfSignedCertificate } from './self-signed.js'

export interface TokenServerOptions {
  /** The one account the server knows, checked against HTTP Basic credentials. */
  readonly user: string
  readonly password: string
  /** Lifetime of each token; 300 s when absent, as Docker's own auth server. */
  readonly tokenTtlSeconds?: number
}

/** One request the token server answered. */
export interface TokenRequest {
  /** The Basic user, `undefined` for an anonymous request. */
  readonly user: string | undefined
  /** The `scope` parameters as sent, e.g. `repository:test/img:pull`. */
  readonly scopes: readonly string[]
  /** 200 with a token, 401 for wrong credentials. */
  readonly status: number
  /** What the token grants; empty for anonymous requests. */
  readonly granted: readonly ResourceAccess[]
}

/** One entry of a token's `access` claim, as distribution reads it. */
export interface ResourceAccess {
  readonly type: string
  readonly name: string
  readonly actions: readonly string[]
}

/**
 * A Docker token-auth server (the `realm` of `WWW-Authenticate: Bearer`), on 127.0.0.1 port 0.
 * Configure a registry with `auth.token` = `{ realm, service, issuer, rootcertbundle: certPath }`.
 */
export interface TokenServer {
  /** `http://127.0.0.1:PORT/token` */
  readonly realm: string
  /** The `aud` of every token; the registry's `auth.token.service`. */
  readonly service: string
  /** The `iss` of every token; the registry's `auth.token.issuer`. */
  readonly issuer: string
  /** PEM of the self-signed certificate whose key signs the tokens. */
  readonly certPath: string
  /** Every request answered so far, oldest first. */
  requests(): TokenRequest[]
  /** Stops listening and closes open connections. Safe to repeat. */
  close(): Promise<void>
}

const SERVICE = 'damselfly-test-registry'
const ISSUER = 'damselfly-test-token-issuer'
const DEFAULT_TTL_SECONDS = 300
// Actions a valid account gets on any repository it asks for.
const GRANTABLE_ACTIONS = ['pull', 'push'] as const

/**
 * Starts a token server that signs RS256 JWTs for distribution 2.8's token auth. Requests with the
 * right Basic credentials get the repository actions they ask for (pull, push); anonymous requests
 * get a token granting nothing, as Docker Hub does; wrong credentials get 401. The signing
 * certificate goes to `dir/token.crt`.
 */
export async function startTokenServer(dir: string, options: TokenServerOptions): Promise<TokenServer> {
  mkdirSync(dir, { recursive: true })
  const signer = await makeSigner(dir)
  const ttlSeconds = options.tokenTtlSeconds ?? DEFAULT_TTL_SECONDS
  const answered: TokenRequest[] = []

  const server = createServer((req, res) => {
    const record = handle(req, res, { options, signer, ttlSeconds })
    if (record !== undefined) answered.push(record)
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject)
      resolve()
    })
  })
  const { port } = server.address() as AddressInfo
  let closing: Promise<void> | undefined
  return {
    realm: `http://127.0.0.1:${port}/token`,
    service: SERVICE,
    issuer: ISSUER,
    certPath: signer.certPath,
    requests: () => [...answered],
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      })
      return closing
    },
  }
}

interface Signer {
  readonly certPath: string
  readonly key: KeyObject
  /** The certificate as DER in base64, the one entry of the JWT header's `x5c`. */
  readonly x5c: string
  /** libtrust's key ID of the public key, the JWT header's `kid`. */
  readonly kid: string
}

function handle(req: IncomingMessage, res: ServerResponse, context: { options: TokenServerOptions; signer: Signer; ttlSeconds: number }): TokenRequest | undefined {
  const url = new URL(req.url ?? '/', 'http://127.0.0.1')
  if (req.method !== 'GET' || url.pathname !== '/token') {
    res.writeHead(404).end()
    return undefined
  }
  const scopes = url.searchParams.getAll('scope').flatMap((scope) => scope.split(' ')).filter((scope) => scope !== '')
  const credentials = basicCredentials(req.headers.authorization)
  if (credentials === 'malformed' || (credentials !== undefined && !matches(credentials, context.options))) {
    res.writeHead(401, { 'content-type': 'application/json', 'www-authenticate': 'Basic realm="token"' })
    res.end(JSON.stringify({ details: 'incorrect username or password' }))
    return { user: credentials === 'malformed' ? undefined : credentials.user, scopes, status: 401, granted: [] }
  }
  const granted = credentials === undefined ? [] : scopes.flatMap((scope) => grant(scope))
  const nowSeconds = Math.floor(Date.now() / 1000)
  const claims = {
    iss: ISSUER,
    sub: credentials?.user ?? '',
    aud: url.searchParams.get('service') ?? SERVICE,
    exp: nowSeconds + context.ttlSeconds,
    nbf: nowSeconds,
    iat: nowSeconds,
    jti: randomUUID(),
    access: granted,
  }
  const token = signJwt(claims, context.signer)
  res.writeHead(200, { 'content-type': 'application/json' })
  res.end(JSON.stringify({ token, access_token: token, expires_in: context.ttlSeconds, issued_at: new Date(nowSeconds * 1000).toISOString() }))
  return { user: credentials?.user, scopes, status: 200, granted }
}

/** `type:name:actions`; the name may itself hold colons (a registry host with a port). */
function grant(scope: string): ResourceAccess[] {
  const first = scope.indexOf(':')
  const last = scope.lastIndexOf(':')
  if (first < 0 || last <= first) return []
  const type = scope.slice(0, first)
  if (type !== 'repository') return []
  const actions = scope.slice(last + 1).split(',').filter((action) => (GRANTABLE_ACTIONS as readonly string[]).includes(action))
  return actions.length === 0 ? [] : [{ type, name: scope.slice(first + 1, last), actions }]
}

function basicCredentials(header: string | undefined): { user: string; password: string } | 'malformed' | undefined {
  if (header === undefined) return undefined
  const match = /^Basic\s+(\S+)$/i.exec(header)
  if (match?.[1] === undefined) return 'malformed'
  const decoded = Buffer.from(match[1], 'base64').toString('utf8')
  const colon = decoded.indexOf(':')
  return colon < 0 ? 'malformed' : { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) }
}

function matches(given: { user: string; password: string }, expected: { user: string; password: string }): boolean {
  const digest = (text: string): Buffer => createHash('sha256').update(text).digest()
  return timingSafeEqual(digest(`${given.user}\n${given.password}`), digest(`${expected.user}\n${expected.password}`))
}

function signJwt(claims: object, signer: Signer): string {
  // distribution 2.8 takes the signing key from x5c first and checks the chain against its
  // rootcertbundle; kid (looked up among the bundle's keys) would be its fallback.
  const header = { typ: 'JWT', alg: 'RS256', kid: signer.kid, x5c: [signer.x5c] }
  const signingInput = `${base64Url(JSON.stringify(header))}.${base64Url(JSON.stringify(claims))}`
  const signature = sign('sha256', Buffer.from(signingInput), signer.key)
  return `${signingInput}.${signature.toString('base64url')}`
}

function base64Url(text: string): string {
  return Buffer.from(text).toString('base64url')
}

async function makeSigner(dir: string): Promise<Signer> {
  // A CA certificate (basicConstraints CA:TRUE), since Go's chain check wants the root to be one.
  const { certPath, keyPath } = await selfSignedCertificate(dir, 'token', '/CN=damselfly test token signer', 'basicConstraints=critical,CA:TRUE')
  const certificate = new X509Certificate(readFileSync(certPath))
  const spki = certificate.publicKey.export({ type: 'spki', format: 'der' })
  return { certPath, key: createPrivateKey(readFileSync(keyPath)), x5c: certificate.raw.toString('base64'), kid: libtrustKeyId(spki) }
}

/** libtrust's key ID: base32 of the first 240 bits of sha256(DER SubjectPublicKeyInfo), 12 groups of 4 joined by ':'. */
export function libtrustKeyId(spkiDer: Buffer): string {
  const encoded = base32(createHash('sha256').update(spkiDer).digest().subarray(0, 30))
  return encoded.match(/.{4}/g)?.join(':') ?? encoded
}

const BASE32_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'

/** RFC 4648 base32 without padding; 30 bytes give exactly 48 characters. */
function base32(bytes: Buffer): string {
  let bits = 0
  let value = 0
  let out = ''
  for (const byte of bytes) {
    value = (value << 8) | byte
    bits += 8
    while (bits >= 5) {
      out += BASE32_ALPHABET[(value >>> (bits - 5)) & 31] ?? ''
      bits -= 5
    }
  }
  if (bits > 0) out += BASE32_ALPHABET[(value << (5 - bits)) & 31] ?? ''
  return out
}
