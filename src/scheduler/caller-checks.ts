import { DamselflyError } from '../protocol/damselfly-error.js'
import type { HostId } from '../protocol/ids.js'
import { normalizeIp, type HostIdentity } from '../security/identity.js'
import type { RevocationList } from '../security/revocation-watcher.js'
import type { HostInfo } from './host.js'

/**
 * Whether a caller may announce `info`: a host of the cluster (by its certificate), announcing its
 * own id and one of its own addresses, and claiming to be a seed only with a seed certificate.
 * Throws UNAUTHENTICATED for a caller without an identity, PERMISSION_DENIED for a false claim.
 */
export function checkHostAnnounce(identity: HostIdentity | undefined, info: HostInfo): void {
  if (identity === undefined) throw noIdentity('announce host')
  const denied = (why: string): DamselflyError => new DamselflyError('PERMISSION_DENIED', `announce host ${info.id}: ${why}`)
  if (identity.role !== 'seed' && identity.role !== 'normal') throw denied(`a ${identity.role} certificate does not belong to a host`)
  if (info.id !== identity.hostId) throw denied(`the certificate is for host ${identity.hostId}`)
  if (!identity.ips.includes(normalizeIp(info.ip))) throw denied(`the certificate is for ${identity.ips.join(', ')}, not ${info.ip}`)
  if (info.seed && identity.role !== 'seed') throw denied('only a host with a seed certificate may announce itself as a seed')
}

/** Whether a caller may act for host `hostId` (register its peers, report, leave). */
export function checkHostCaller(identity: HostIdentity | undefined, hostId: HostId, what: string): void {
  if (identity === undefined) throw noIdentity(what)
  if (hostId !== identity.hostId) throw new DamselflyError('PERMISSION_DENIED', `${what}: the caller's certificate is for host ${identity.hostId}, not ${hostId}`)
}

/**
 * Whether a caller may run the manager's jobs (RunDownloads, StatTask, DeleteTask): only a
 * certificate of role manager. UNAUTHENTICATED without one, PERMISSION_DENIED for another role.
 */
export function checkManagerCaller(identity: HostIdentity | undefined, what: string): void {
  if (identity === undefined) throw noIdentity(what)
  if (identity.role !== 'manager') throw new DamselflyError('PERMISSION_DENIED', `${what}: only a manager may ask this; the caller's certificate is for role ${identity.role}`)
}

function noIdentity(what: string): DamselflyError {
  return new DamselflyError('UNAUTHENTICATED', `${what}: the caller presented no certificate from this cluster's CA; join the cluster first (damselfly join)`)
}

/** Refuses a caller the managers revoked, whatever its certificate still says. */
export function checkNotRevoked(identity: HostIdentity | undefined, revocations: Pick<RevocationList, 'isRevoked'>, what: string): void {
  if (identity !== undefined && revocations.isRevoked(identity.hostId)) {
    throw new DamselflyError('PERMISSION_DENIED', `${what}: host ${identity.hostId} is revoked`)
  }
}
