import { createPublicKey, sign, verify, type KeyObject, X509Certificate } from 'node:crypto'
import { z } from 'zod'
import { BoundedMap } from '../common/bounded-map.js'
import type { Clock } from '../common/clock.js'
import { DamselflyError } from '../protocol/damselfly-error.js'
import { isTaskId, type HostId, type PeerId, type TaskId } from '../protocol/ids.js'
import { identityOf } from './identity.js'
import { leafProblem, validityMs } from './x509.js'

/** The request header a child presents its capability in. */
export const CAPABILITY_HEADER = 'x-damselfly-capability'

/**
 * What a capability lets its holder do: fetch pieces of one task, as one peer on one host, until
 * it expires. A parent checks it without asking anyone: the scheduler signed it, and the
 * scheduler's certificate from the cluster CA rides along in the token.
 */
export interface CapabilityClaims {
  readonly taskId: TaskId
  readonly peerId: PeerId
  readonly hostId: HostId
  /** The child's public key (SubjectPublicKeyInfo DER): checks its request signatures when pieces go without TLS. */
  readonly publicKeySpki: Buffer
  readonly expiresAtMs: number
}

/** The claims of a capability a parent verified, with the holder's key parsed once for every request signature it checks. */
export interface VerifiedCapability extends CapabilityClaims {
  readonly publicKey: KeyObject
}

const VERSION = 'dfc1'

function isCanonicalBase64url(part: string): boolean {
  return /^[A-Za-z0-9_-]+$/.test(part) && Buffer.from(part, 'base64url').toString('base64url') === part
}
/** Longer tokens are refused before any parsing: a certificate and a few ids fit easily. */
export const MAX_CAPABILITY_LENGTH = 4096

const payloadSchema = z.object({
  t: z.string().refine(isTaskId),
  p: z.string().min(1).max(512),
  h: z.string().min(1).max(512),
  k: z.string().regex(/^[A-Za-z0-9_-]{1,256}$/),
  e: z.number().int().nonnegative(),
})

/**
 * Signs capabilities with a scheduler's own key: `dfc1.<payload>.<signature>.<certificate>`, each
 * part base64url; the payload is JSON, the signature ECDSA over `dfc1.<payload>`.
 */
export class CapabilityIssuer {
  private readonly certSegment: string

  constructor(
    private readonly components: { clock: Clock },
    private readonly init: { privateKey: KeyObject; certDer: Buffer; ttlMs: number },
  ) {
    this.certSegment = init.certDer.toString('base64url')
  }

  get ttlMs(): number {
    return this.init.ttlMs
  }

  issue(claims: Omit<CapabilityClaims, 'expiresAtMs'>): { token: string; expiresAtMs: number } {
    const expiresAtMs = this.components.clock.nowMs() + this.init.ttlMs
    const payload = Buffer.from(JSON.stringify({
      t: claims.taskId,
      p: claims.peerId,
      h: claims.hostId,
      k: claims.publicKeySpki.toString('base64url'),
      e: Math.floor(expiresAtMs / 1000),
    })).toString('base64url')
    const signed = `${VERSION}.${payload}`
    const signature = sign('sha256', Buffer.from(signed), this.init.privateKey).toString('base64url')
    return { token: `${signed}.${signature}.${this.certSegment}`, expiresAtMs }
  }
}

interface Signer {
  readonly publicKey: KeyObject
  readonly notAfterMs: number
}

const MAX_CACHED = 4096
const MAX_SIGNERS = 64

/**
 * Checks capabilities on a parent. A valid one was signed by a scheduler certified by the cluster
 * CA, names the task asked for, and has not expired. Verified tokens and signer certificates are
 * remembered, so a child's second piece costs a map lookup.
 */
export class CapabilityVerifier {
  private readonly signers = new BoundedMap<string, Signer | string>(MAX_SIGNERS)
  private readonly verified = new BoundedMap<string, VerifiedCapability>(MAX_CACHED)

  constructor(private readonly components: { caCert: X509Certificate; clock: Clock }) {}

  /** The claims of a valid capability for `taskId`; UNAUTHENTICATED, CAPABILITY_EXPIRED or PERMISSION_DENIED otherwise. */
  verify(token: string | undefined, taskId: TaskId): VerifiedCapability {
    if (token === undefined || token === '') throw new DamselflyError('UNAUTHENTICATED', `no capability: a parent serves pieces only with the ${CAPABILITY_HEADER} header from the scheduler`)
    const claims = this.verified.get(token) ?? this.verified.set(token, this.check(token))
    const nowMs = this.components.clock.nowMs()
    if (claims.expiresAtMs <= nowMs) {
      this.verified.delete(token)
      throw new DamselflyError('CAPABILITY_EXPIRED', `the capability expired ${Math.round((nowMs - claims.expiresAtMs) / 1000)} s ago`)
    }
    if (claims.taskId !== taskId) throw new DamselflyError('PERMISSION_DENIED', `the capability is for task ${claims.taskId}, not ${taskId}`)
    return claims
  }

  private check(token: string): VerifiedCapability {
    const invalid = (why: string): DamselflyError => new DamselflyError('UNAUTHENTICATED', `invalid capability: ${why}`)
    if (token.length > MAX_CAPABILITY_LENGTH) throw invalid(`longer than ${MAX_CAPABILITY_LENGTH} characters`)
    const parts = token.split('.')
    const [version, payload, signature, certificate] = parts
    if (parts.length !== 4 || version !== VERSION || payload === undefined || signature === undefined || certificate === undefined) {
      throw invalid(`expected ${VERSION}.<payload>.<signature>.<certificate>`)
    }
    // Node's base64url decoder skips what is not base64url and ignores spare bits: only the
    // canonical spelling is accepted, so one capability is one token (and one cache entry).
    if (![payload, signature, certificate].every(isCanonicalBase64url)) throw invalid('a part is not canonical base64url')
    const signer = this.signer(certificate)
    if (typeof signer === 'string') throw invalid(`its signer ${signer}`)
    if (signer.notAfterMs < this.components.clock.nowMs()) throw invalid('its signer certificate has expired')
    const signed = Buffer.from(`${version}.${payload}`)
    if (!verify('sha256', signed, signer.publicKey, Buffer.from(signature, 'base64url'))) throw invalid('the signature does not match')
    let value: unknown
    try {
      value = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'))
    } catch {
      throw invalid('the payload is not JSON')
    }
    const parsed = payloadSchema.safeParse(value)
    if (!parsed.success) throw invalid('the payload lacks a field or has a malformed one')
    const claims = parsed.data
    let publicKey: KeyObject
    try {
      publicKey = createPublicKey({ key: Buffer.from(claims.k, 'base64url'), format: 'der', type: 'spki' })
    } catch {
      throw invalid('the holder key is not a public key')
    }
    const publicKeySpki = publicKey.export({ format: 'der', type: 'spki' })
    return { taskId: claims.t, peerId: claims.p as PeerId, hostId: claims.h as HostId, publicKeySpki, publicKey, expiresAtMs: claims.e * 1000 }
  }

  /** The signer's key when its certificate is a scheduler's from the cluster CA, else why not. */
  private signer(segment: string): Signer | string {
    const known = this.signers.get(segment)
    if (known !== undefined) return known
    let verdict: Signer | string
    try {
      const der = Buffer.from(segment, 'base64url')
      const cert = new X509Certificate(der)
      // The parser ignores bytes after the certificate: those would make a second spelling of one token.
      if (!cert.raw.equals(der)) throw new Error('bytes after the certificate')
      const problem = leafProblem(cert, this.components.caCert, this.components.clock.nowMs())
      const role = identityOf(cert)?.role
      if (problem !== undefined) verdict = `certificate: ${problem}`
      else if (role !== 'scheduler') verdict = `is not a scheduler (its role is ${role ?? 'none'})`
      else verdict = { publicKey: cert.publicKey, notAfterMs: validityMs(cert).toMs }
    } catch {
      verdict = 'certificate cannot be read'
    }
    return this.signers.set(segment, verdict)
  }
}
