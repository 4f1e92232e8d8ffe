import { DamselflyError } from '../../protocol/damselfly-error.js'
import { normalizeIp, type HostIdentity, type Role } from '../../security/identity.js'

/**
 * Whether a caller may speak for the member it names. A caller that shows a certificate of the
 * cluster must hold `role` and name its own address (and host id, when it names one); a caller
 * without one passes only while the manager serves without TLS (`requireIdentity` false).
 * Throws UNAUTHENTICATED or PERMISSION_DENIED.
 */
export function checkMemberCaller(
  identity: HostIdentity | undefined,
  claim: { readonly role: Role; readonly ip: string; readonly hostId: string },
  options: { readonly requireIdentity: boolean; readonly what: string },
): void {
  const { what } = options
  if (identity === undefined) {
    if (!options.requireIdentity) return
    throw new DamselflyError('UNAUTHENTICATED', `${what}: the caller presented no certificate from this cluster's CA`)
  }
  if (identity.role !== claim.role) throw new DamselflyError('PERMISSION_DENIED', `${what}: needs a ${claim.role} certificate, the caller's is for role ${identity.role}`)
  if (!identity.ips.includes(normalizeIp(claim.ip))) throw new DamselflyError('PERMISSION_DENIED', `${what}: the caller's certificate is for ${identity.ips.join(', ')}, not ${claim.ip}`)
  if (claim.hostId !== '' && claim.hostId !== identity.hostId) throw new DamselflyError('PERMISSION_DENIED', `${what}: the caller's certificate is for host ${identity.hostId}, not ${claim.hostId}`)
}

/** Whether any caller may ask (discovery): a certificate of the cluster when one is required, of any role. */
export function checkAnyCaller(identity: HostIdentity | undefined, options: { readonly requireIdentity: boolean; readonly what: string }): void {
  if (identity === undefined && options.requireIdentity) throw new DamselflyError('UNAUTHENTICATED', `${options.what}: the caller presented no certificate from this cluster's CA`)
}
