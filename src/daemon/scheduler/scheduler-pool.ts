import type { ChannelCredentials } from '@grpc/grpc-js'
import type { Clock } from '../../common/clock.js'
import { rendezvousPick } from '../../common/rendezvous.js'
import { SchedulerServiceClient } from '../../protocol/generated/damselfly/scheduler/v1/scheduler.js'
import { SCHEDULER_CHANNEL_OPTIONS } from '../../security/grpc-tls.js'

/** How long a scheduler that failed is passed over before it is tried again. */
const DOWN_COOLDOWN_MS = 10_000

/**
 * The schedulers a daemon knows, each task routed to one of them by rendezvous hashing of the
 * task id over those not marked down; when one dies its tasks move to the others.
 */
export class SchedulerPool {
  private readonly clients = new Map<string, SchedulerServiceClient>()
  private readonly downUntilMs = new Map<string, number>()

  readonly addresses: readonly string[]

  constructor(
    private readonly components: { clock: Clock },
    private readonly init: {
      addresses: readonly string[]
      /** Mutual TLS with this host's identity; insecure only when the daemon runs --insecure. */
      credentials: ChannelCredentials
    },
  ) {
    this.addresses = init.addresses
  }

  get enabled(): boolean {
    return this.addresses.length > 0
  }

  client(address: string): SchedulerServiceClient {
    let client = this.clients.get(address)
    if (client === undefined) {
      client = new SchedulerServiceClient(address, this.init.credentials, {
        ...SCHEDULER_CHANNEL_OPTIONS,
        'grpc.keepalive_time_ms': 10_000,
        'grpc.keepalive_timeout_ms': 5_000,
        'grpc.keepalive_permit_without_calls': 1,
      })
      this.clients.set(address, client)
    }
    return client
  }

  /** The scheduler that owns `taskId` among those up and not in `exclude`. */
  pick(taskId: string, exclude: ReadonlySet<string> = new Set()): string | undefined {
    const now = this.components.clock.nowMs()
    const up = this.addresses.filter((address) => !exclude.has(address) && (this.downUntilMs.get(address) ?? 0) <= now)
    return rendezvousPick(taskId, up, (address) => address)
  }

  markDown(address: string): void {
    this.downUntilMs.set(address, this.components.clock.nowMs() + DOWN_COOLDOWN_MS)
  }

  markUp(address: string): void {
    this.downUntilMs.delete(address)
  }

  close(): void {
    for (const client of this.clients.values()) client.close()
    this.clients.clear()
  }
}
