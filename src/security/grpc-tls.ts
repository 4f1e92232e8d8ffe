import { X509Certificate } from 'node:crypto'
import type { PeerCertificate } from 'node:tls'
import type { ServerCredentials} from '@grpc/grpc-js';
import { credentials, experimental, type ChannelCredentials } from '@grpc/grpc-js'
import { identityOf, type HostIdentity, type Role } from './identity.js'
import type { LocalIdentity } from './local-identity.js'

/** A provider that hands grpc-js one fixed certificate (or CA) for the life of the server. */
class StaticCertificateProvider implements experimental.CertificateProvider {
  constructor(private readonly update: { ca?: Buffer; identity?: { certificate: Buffer; privateKey: Buffer } }) {}

  addCaCertificateListener(listener: experimental.CaCertificateUpdateListener): void {
    listener(this.update.ca === undefined ? null : { caCertificate: this.update.ca })
  }

  removeCaCertificateListener(): void {}

  addIdentityCertificateListener(listener: experimental.IdentityCertificateUpdateListener): void {
    listener(this.update.identity ?? null)
  }

  removeIdentityCertificateListener(): void {}
}

/**
 * Server credentials for a control-plane port: TLS with this process's certificate, asking every
 * caller for a certificate from the cluster CA. A caller without one still gets through the
 * handshake, for the two join calls only: every other handler refuses a call whose
 * {@link callerIdentity} is undefined.
 */
export function controlPlaneServerCredentials(local: LocalIdentity): ServerCredentials {
  return experimental.createCertificateProviderServerCredentials(
    new StaticCertificateProvider({ ca: Buffer.from(local.caPem) }),
    new StaticCertificateProvider({ identity: { certificate: Buffer.from(`${local.certPem}${local.caPem}`), privateKey: Buffer.from(local.keyPem) } }),
    false,
  )
}

/** Refuses a TLS peer whose certificate does not carry one of `roles`: the CA alone is not enough. */
export function roleCheck(roles: readonly Role[]): (hostname: string, cert: PeerCertificate) => Error | undefined {
  return (_hostname, cert) => {
    const role = cert.raw === undefined ? undefined : identityOf(new X509Certificate(cert.raw))?.role
    if (role !== undefined && roles.includes(role)) return undefined
    return new Error(`the peer's certificate is for role ${role ?? 'none'}, expected ${roles.join(' or ')}`)
  }
}

/**
 * Client credentials for calling a scheduler: mutual TLS with this host's certificate. The
 * scheduler is checked by the CA and by its role, not by hostname: schedulers are reached by
 * whatever address the operator lists.
 */
export function schedulerChannelCredentials(local: LocalIdentity): ChannelCredentials {
  return credentials.createSsl(Buffer.from(local.caPem), Buffer.from(local.keyPem), Buffer.from(local.certPem), {
    checkServerIdentity: roleCheck(['scheduler']),
  })
}

/** What grpc-js reports of a call's transport. */
export interface AuthenticatedCall {
  getAuthContext(): { sslPeerCertificate?: PeerCertificate } | null
}

/**
 * The identity of the host on the other end of a call: from its certificate, which TLS checked
 * against the cluster CA (grpc-js reports a certificate only when it was authorized). Undefined
 * for a caller without a valid Damselfly certificate.
 */
export function callerIdentity(call: AuthenticatedCall): HostIdentity | undefined {
  const raw = call.getAuthContext()?.sslPeerCertificate?.raw
  if (raw === undefined) return undefined
  return identityOf(new X509Certificate(raw))
}
