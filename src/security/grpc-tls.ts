import { X509Certificate } from 'node:crypto'
import type { PeerCertificate } from 'node:tls'
import type { ServerCredentials} from '@grpc/grpc-js';
import { credentials, experimental, type ChannelCredentials } from '@grpc/grpc-js'
import { LRUCache } from 'lru-cache'
import { identityOf, type HostIdentity, type Role } from './identity.js'
import type { LocalIdentity } from './local-identity.js'

/**
 * A provider that hands grpc-js this process's certificate (and CA), and a renewed certificate
 * when there is one: new connections present it, open ones keep theirs. It answers a new
 * listener on the next microtask, as a file-watching provider would: grpc-js subscribes to
 * providers before it starts listening for their updates, and would miss an answer given at
 * once (the server would then drop every connection).
 */
class RenewableCertificateProvider implements experimental.CertificateProvider {
  private readonly caListeners = new Set<experimental.CaCertificateUpdateListener>()
  private readonly identityListeners = new Set<experimental.IdentityCertificateUpdateListener>()

  constructor(private current: { ca: Buffer; identity: { certificate: Buffer; privateKey: Buffer } }) {}

  update(next: { ca: Buffer; identity: { certificate: Buffer; privateKey: Buffer } }): void {
    this.current = next
    for (const listener of this.caListeners) listener({ caCertificate: next.ca })
    for (const listener of this.identityListeners) listener(next.identity)
  }

  addCaCertificateListener(listener: experimental.CaCertificateUpdateListener): void {
    this.caListeners.add(listener)
    queueMicrotask(() => listener({ caCertificate: this.current.ca }))
  }

  removeCaCertificateListener(listener: experimental.CaCertificateUpdateListener): void {
    this.caListeners.delete(listener)
  }

  addIdentityCertificateListener(listener: experimental.IdentityCertificateUpdateListener): void {
    this.identityListeners.add(listener)
    queueMicrotask(() => listener(this.current.identity))
  }

  removeIdentityCertificateListener(listener: experimental.IdentityCertificateUpdateListener): void {
    this.identityListeners.delete(listener)
  }
}

function providerUpdate(local: LocalIdentity): { ca: Buffer; identity: { certificate: Buffer; privateKey: Buffer } } {
  return { ca: Buffer.from(local.caPem), identity: { certificate: Buffer.from(`${local.certPem}${local.caPem}`), privateKey: Buffer.from(local.keyPem) } }
}

/**
 * Server credentials for a control-plane port: TLS with this process's certificate, asking every
 * caller for a certificate from the cluster CA. A caller without one still gets through the
 * handshake, for the two join calls only: every other handler refuses a call whose
 * {@link callerIdentity} is undefined. `renew` switches new connections to a renewed certificate.
 */
export function renewableServerCredentials(local: LocalIdentity): { credentials: ServerCredentials; renew: (renewed: LocalIdentity) => void } {
  const provider = new RenewableCertificateProvider(providerUpdate(local))
  // One provider for both roles: grpc-js 1.14's factory passes its two providers to the constructor in the other order.
  const credentials = experimental.createCertificateProviderServerCredentials(provider, provider, false)
  return { credentials, renew: (renewed) => provider.update(providerUpdate(renewed)) }
}

/** {@link renewableServerCredentials} for a certificate that is not renewed. */
export function controlPlaneServerCredentials(local: LocalIdentity): ServerCredentials {
  return renewableServerCredentials(local).credentials
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

/**
 * Client credentials for calling a manager: mutual TLS with this host's certificate; the manager
 * is checked by the CA and by its role.
 */
export function managerChannelCredentials(local: LocalIdentity): ChannelCredentials {
  return credentials.createSsl(Buffer.from(local.caPem), Buffer.from(local.keyPem), Buffer.from(local.certPem), {
    checkServerIdentity: roleCheck(['manager']),
  })
}

/** Channel options for TLS to a manager: checked by role, as schedulers are. */
export const MANAGER_CHANNEL_OPTIONS = { 'grpc.ssl_target_name_override': 'manager.damselfly.invalid' } as const

/**
 * Channel options for TLS to a scheduler: the server name sent is a fixed one, since schedulers
 * are checked by role, not by name (and an IP address may not be sent as a server name).
 */
export const SCHEDULER_CHANNEL_OPTIONS = { 'grpc.ssl_target_name_override': 'scheduler.damselfly.invalid' } as const

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

/** `value[key]` when `value` is an object, whatever its declared type says of the key. */
function field(value: unknown, key: string): unknown {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined
}

/**
 * The HTTP/2 session (one per TLS connection) a grpc-js server call arrived on. grpc-js (1.14)
 * keeps it private: the call holds its intercepting call, which leads down any server
 * interceptors (`nextCall`) to the one holding the HTTP/2 stream. Undefined when that shape is
 * not there, as with another grpc-js or a call made up in a test.
 */
export function http2SessionOf(call: unknown): object | undefined {
  let inner = field(call, 'call')
  for (let depth = 0; depth < 8 && inner !== undefined; depth++) {
    const stream = field(inner, 'stream')
    if (stream !== undefined) {
      const session = field(stream, 'session')
      return typeof session === 'object' && session !== null && field(session, 'socket') !== undefined ? session : undefined
    }
    inner = field(inner, 'nextCall')
  }
  return undefined
}

/**
 * {@link callerIdentity}, worked out once per connection. A host opens a stream per download
 * over one connection, and grpc-js's `getAuthContext` copies the peer's certificate out of TLS
 * on every call (with its fingerprints), which cost the scheduler more than scheduling the peer.
 * A connection's certificate cannot change: TLS checked it at the handshake, and Node refuses
 * renegotiation on HTTP/2. Calls whose connection grpc-js does not show fall back to reading
 * the certificate, and what each certificate says is remembered by its bytes.
 */
export class CallerIdentities {
  private readonly byConnection = new WeakMap<object, HostIdentity | false>()
  private readonly known: LRUCache<string, HostIdentity | false>

  constructor(init: { maxEntries: number }) {
    this.known = new LRUCache({ max: init.maxEntries })
  }

  of(call: AuthenticatedCall): HostIdentity | undefined {
    const session = http2SessionOf(call)
    const remembered = session === undefined ? undefined : this.byConnection.get(session)
    if (remembered !== undefined) return remembered === false ? undefined : remembered
    const identity = this.fromCertificate(call)
    if (session !== undefined) this.byConnection.set(session, identity ?? false)
    return identity
  }

  private fromCertificate(call: AuthenticatedCall): HostIdentity | undefined {
    const raw = call.getAuthContext()?.sslPeerCertificate?.raw
    if (raw === undefined) return undefined
    const key = raw.toString('latin1')
    const known = this.known.get(key)
    if (known !== undefined) return known === false ? undefined : known
    const identity = identityOf(new X509Certificate(raw))
    this.known.set(key, identity ?? false)
    return identity
  }
}
