import type { ConnectionOptions, TlsOptions, TLSSocket } from 'node:tls'
import { roleCheck } from './grpc-tls.js'
import { identityOf, type HostIdentity } from './identity.js'
import type { LocalIdentity } from './local-identity.js'

/**
 * TLS for an upload server: this host's certificate, and a certificate from the cluster CA
 * demanded of every client, so a stranger on the network does not even complete a handshake.
 */
export function uploadServerTlsOptions(local: LocalIdentity): TlsOptions {
  return {
    key: local.keyPem,
    cert: `${local.certPem}${local.caPem}`,
    ca: local.caPem,
    requestCert: true,
    rejectUnauthorized: true,
    minVersion: 'TLSv1.3',
  }
}

/** TLS for fetching pieces from parents: this host's certificate, and a parent must be a host of the cluster. */
export function parentClientTlsOptions(local: LocalIdentity): Required<Pick<ConnectionOptions, 'key' | 'cert' | 'ca' | 'minVersion' | 'checkServerIdentity'>> {
  return {
    key: local.keyPem,
    cert: local.certPem,
    ca: local.caPem,
    minVersion: 'TLSv1.3',
    checkServerIdentity: roleCheck(['seed', 'normal']),
  }
}

const identities = new WeakMap<TLSSocket, HostIdentity | null>()

/** The identity of an authorized TLS client, read once per connection; undefined for anyone else. */
export function tlsClientIdentity(socket: TLSSocket): HostIdentity | undefined {
  const known = identities.get(socket)
  if (known !== undefined) return known ?? undefined
  // getPeerX509Certificate, not getPeerCertificate: that one builds an object of every field first.
  const cert = socket.authorized ? socket.getPeerX509Certificate() : undefined
  const identity = cert === undefined ? undefined : identityOf(cert)
  identities.set(socket, identity ?? null)
  return identity
}
