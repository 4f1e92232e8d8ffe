import type { Clock } from '../common/clock.js'
import type { Logger } from '../common/logger.js'
import type { Startable } from '../common/startable.js'
import { CertificateRenewer } from './certificate-renewer.js'
import { managerChannelCredentials } from './grpc-tls.js'
import type { LocalIdentity } from './local-identity.js'
import { RevocationWatcher, type RevocationList } from './revocation-watcher.js'

/**
 * What the managers keep current for a process that holds a certificate they issued: the hosts
 * they revoked (polled, refused on every port of this process) and this process's own
 * certificate (renewed after two thirds of its life, then handed to `onRenewed`).
 */
export class ManagedTrust implements Startable, RevocationList {
  private readonly watcher: RevocationWatcher
  private readonly renewer: CertificateRenewer

  constructor(
    components: { clock: Clock; logger: Logger; onRenewed: (identity: LocalIdentity) => void },
    init: { identity: LocalIdentity; identityDir: string; managerAddrs: readonly string[] },
  ) {
    this.renewer = new CertificateRenewer(components, { identity: init.identity, identityDir: init.identityDir, managerAddrs: init.managerAddrs })
    this.watcher = new RevocationWatcher(components, { managerAddrs: init.managerAddrs, credentials: () => managerChannelCredentials(this.renewer.identity) })
  }

  /** The certificate in use: the latest one. */
  get identity(): LocalIdentity {
    return this.renewer.identity
  }

  isRevoked(hostId: string): boolean {
    return this.watcher.isRevoked(hostId)
  }

  onRevoked(listener: (hostIds: readonly string[]) => void): () => void {
    return this.watcher.onRevoked(listener)
  }

  /** Fetches the revoked hosts once (or goes on without when no manager answers), then keeps both current. */
  async start(): Promise<void> {
    await this.watcher.start()
    await this.renewer.start()
  }

  async stop(): Promise<void> {
    await this.renewer.stop()
    await this.watcher.stop()
  }
}
