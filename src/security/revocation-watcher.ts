import { Metadata, type ChannelCredentials } from '@grpc/grpc-js'
import type { Clock } from '../common/clock.js'
import { fromGrpcError } from '../common/grpc-status.js'
import type { Logger } from '../common/logger.js'
import type { Startable } from '../common/startable.js'
import { CertificateServiceClient } from '../protocol/generated/damselfly/identity/v1/identity.js'
import { MANAGER_CHANNEL_OPTIONS } from './grpc-tls.js'

/** How often the list is fetched: a revoked host is refused everywhere within this and one call. */
export const REVOCATION_POLL_MS = 15_000

/** Whether a host id is revoked; what the ports of a process consult before serving a caller. */
export interface RevocationList {
  isRevoked(hostId: string): boolean
  /** Calls `listener` with the host ids newly revoked, so their open streams can be ended; returns the unsubscribe. */
  onRevoked(listener: (hostIds: readonly string[]) => void): () => void
}

/** A list nobody revokes from: a process without a manager. */
export const NO_REVOCATIONS: RevocationList = { isRevoked: () => false, onRevoked: () => () => undefined }

/**
 * The hosts the managers revoked, fetched from the first manager that answers every
 * {@link REVOCATION_POLL_MS}. When none answers, the last list stays: a revoked host is not
 * pardoned by an outage. Listeners hear of hosts newly revoked, so open connections and streams
 * of theirs can be closed at once.
 */
export class RevocationWatcher implements RevocationList, Startable {
  private revoked = new Set<string>()
  private readonly listeners = new Set<(hostIds: readonly string[]) => void>()
  private timer: NodeJS.Timeout | undefined
  private polling: Promise<void> | undefined
  private stopped = false

  constructor(
    private readonly components: { clock: Clock; logger: Logger },
    private readonly init: {
      managerAddrs: readonly string[]
      /** The channel's credentials, asked for each poll: a renewed certificate is used from the next one. */
      credentials: () => ChannelCredentials
      intervalMs?: number
      timeoutMs?: number
    },
  ) {}

  isRevoked(hostId: string): boolean {
    return this.revoked.has(hostId)
  }

  onRevoked(listener: (hostIds: readonly string[]) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  /** Fetches the list once before resolving, so a process starts knowing whom to refuse (or with none, when no manager answers). */
  async start(): Promise<void> {
    await this.poll()
    this.schedule()
  }

  /** Fetches the list now; resolves when done, whether a manager answered or not. */
  poll(): Promise<void> {
    this.polling ??= this.fetch().finally(() => {
      this.polling = undefined
    })
    return this.polling
  }

  async stop(): Promise<void> {
    this.stopped = true
    clearTimeout(this.timer)
    await this.polling
  }

  private schedule(): void {
    if (this.stopped) return
    this.timer = setTimeout(() => {
      void this.poll().then(() => this.schedule())
    }, this.init.intervalMs ?? REVOCATION_POLL_MS)
    this.timer.unref()
  }

  private async fetch(): Promise<void> {
    const failures: string[] = []
    // A connection per poll: one handshake every interval, and always with the current certificate.
    for (const address of this.init.managerAddrs) {
      const client = new CertificateServiceClient(address, this.init.credentials(), MANAGER_CHANNEL_OPTIONS)
      try {
        const hostIds = await new Promise<string[]>((resolve, reject) => {
          const deadline = new Date(this.components.clock.nowMs() + (this.init.timeoutMs ?? 5_000))
          client.listRevokedHosts({}, new Metadata(), { deadline }, (error, response) => {
            if (error === null) resolve(response.hostIds)
            else reject(fromGrpcError(error, `cannot list revoked hosts at ${address}`))
          })
        })
        this.replace(hostIds)
        return
      } catch (error) {
        failures.push((error as Error).message)
      } finally {
        client.close()
      }
    }
    if (failures.length > 0) this.components.logger.warn({ failures }, 'no manager answered for revoked hosts; keeping the last list')
  }

  private replace(hostIds: readonly string[]): void {
    const next = new Set(hostIds)
    const added = hostIds.filter((hostId) => !this.revoked.has(hostId))
    this.revoked = next
    if (added.length === 0) return
    this.components.logger.warn({ hostIds: added }, 'hosts revoked: refusing them from now on')
    for (const listener of this.listeners) listener(added)
  }
}
