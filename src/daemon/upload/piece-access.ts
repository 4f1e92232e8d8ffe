import type { IncomingMessage } from 'node:http'
import { TLSSocket } from 'node:tls'
import type { Clock } from '../../common/clock.js'
import { DamselflyError } from '../../protocol/damselfly-error.js'
import type { TaskId } from '../../protocol/ids.js'
import { CAPABILITY_HEADER, type CapabilityVerifier } from '../../security/capability.js'
import { tlsClientIdentity } from '../../security/peer-tls.js'
import { SIGNATURE_HEADER, verifyRequestSignature } from '../../security/request-signature.js'
import { NO_REVOCATIONS, type RevocationList } from '../../security/revocation-watcher.js'

/** What a request was let in to, for as long as it lasts. */
export interface PieceGrant {
  /** False once the caller's capability expired or its host was revoked: a long answer (a piece list) stops then. */
  holds(): boolean
}

/** Who may fetch pieces from this host's upload server. */
export interface PieceAccess {
  /** Throws UNAUTHENTICATED, CAPABILITY_EXPIRED or PERMISSION_DENIED unless the request may have pieces of `taskId`. */
  check(req: IncomingMessage, taskId: TaskId): PieceGrant
}

const FOREVER: PieceGrant = { holds: () => true }

/** Anyone at all: a daemon running --insecure. */
export const OPEN_ACCESS: PieceAccess = { check: () => FOREVER }

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name]
  return typeof value === 'string' ? value : undefined
}

/**
 * A child holding a capability a scheduler of the cluster issued for this task, and proving it is
 * the host the capability names: by its TLS client certificate, or, when pieces go without TLS, by
 * signing the request with its key.
 */
export class CapabilityAccess implements PieceAccess {
  constructor(
    private readonly components: {
      verifier: CapabilityVerifier
      clock: Clock
      /** Hosts refused whatever their capability and certificate say; none without a manager. */
      revocations?: RevocationList
    },
    private readonly init: { tls: boolean },
  ) {}

  check(req: IncomingMessage, taskId: TaskId): PieceGrant {
    const { clock, verifier } = this.components
    const revocations = this.components.revocations ?? NO_REVOCATIONS
    const claims = verifier.verify(header(req, CAPABILITY_HEADER), taskId)
    if (revocations.isRevoked(claims.hostId)) {
      throw new DamselflyError('PERMISSION_DENIED', `host ${claims.hostId} is revoked`)
    }
    if (!this.init.tls) {
      const request = { method: req.method ?? '', path: req.url ?? '', range: header(req, 'range') ?? '' }
      verifyRequestSignature(claims.publicKey, header(req, SIGNATURE_HEADER), request, clock.nowMs())
    } else {
      const caller = req.socket instanceof TLSSocket ? tlsClientIdentity(req.socket) : undefined
      if (caller === undefined) throw new DamselflyError('UNAUTHENTICATED', 'no client certificate from the cluster CA')
      if (caller.hostId !== claims.hostId) {
        throw new DamselflyError('PERMISSION_DENIED', `the capability belongs to host ${claims.hostId}, and the caller is host ${caller.hostId}`)
      }
    }
    return { holds: () => clock.nowMs() < claims.expiresAtMs && !revocations.isRevoked(claims.hostId) }
  }
}
