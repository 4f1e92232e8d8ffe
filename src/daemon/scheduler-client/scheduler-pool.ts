import { connectivityState, type ChannelCredentials } from '@grpc/grpc-js'
import type { Clock } from '../../common/clock.js'
import type { Logger } from '../../common/logger.js'
import { rendezvousPick } from '../../common/rendezvous.js'
import { SchedulerServiceClient } from '../../protocol/generated/damselfly/scheduler/v1/scheduler.js'
import type { HostId, PeerId, TaskId } from '../../protocol/ids.js'
import { SCHEDULER_CHANNEL_OPTIONS } from '../../security/grpc-tls.js'
import { PeerSession } from './peer-session.js'
import { PIECE_REPORT_BATCHING } from './report-batcher.js'
import type { SchedulerDirectory } from './scheduler-directory.js'

/** How long a scheduler that failed is passed over before it may be tried again. */
const DOWN_COOLDOWN_MS = 10_000

/** How long a download waits on a scheduler: for it to take the registration, then for its decision. */
export interface SchedulerWaits {
  /** A scheduler that has not taken a registration by then is marked down and passed over. */
  readonly registerTimeoutMs: number
  /** After the registration was taken, the longest wait for the decision; then the download goes back to source. */
  readonly scheduleTimeoutMs: number
}

/**
 * The schedulers a daemon knows (its directory's current members), each task routed to one of
 * them by rendezvous hashing of the task id over those not marked down; when one dies or leaves
 * the directory its tasks move to the others, and one that joins takes its share of new tasks.
 */
export class SchedulerPool {
  private readonly clients = new Map<string, SchedulerServiceClient>()
  /** Clients made with an older certificate: streams open on them go on until they end; closed with the pool. */
  private readonly retired: SchedulerServiceClient[] = []
  private credentials: ChannelCredentials
  private readonly downUntilMs = new Map<string, number>()
  private readonly unsubscribe: () => void

  constructor(
    private readonly components: {
      clock: Clock
      /**
       * Whether the connection to a scheduler is up (HTTP/2 settings exchanged), asking for one
       * if there is none; the gRPC channel's state unless a test says otherwise.
       */
      connected?: (address: string) => boolean
    },
    private readonly init: {
      directory: SchedulerDirectory
      /** Mutual TLS with this host's identity; insecure only when the daemon runs --insecure. */
      credentials: ChannelCredentials
      waits: SchedulerWaits
    },
  ) {
    this.credentials = init.credentials
    this.unsubscribe = init.directory.onChange((members) => {
      this.forgetAllBut(members)
    })
  }

  /** The schedulers tasks are routed over, now. */
  get addresses(): readonly string[] {
    return this.init.directory.members
  }

  /** Whether this daemon takes part in P2P: it was given schedulers or a manager (the list may be empty for now). */
  get enabled(): boolean {
    return this.init.directory.enabled
  }

  /** Subscribes to changes of the schedulers; returns the unsubscribe function. */
  onChange(listener: (members: readonly string[]) => void): () => void {
    return this.init.directory.onChange(listener)
  }

  get waits(): SchedulerWaits {
    return this.init.waits
  }

  client(address: string): SchedulerServiceClient {
    let client = this.clients.get(address)
    if (client === undefined) {
      client = new SchedulerServiceClient(address, this.credentials, {
        ...SCHEDULER_CHANNEL_OPTIONS,
        'grpc.keepalive_time_ms': 10_000,
        'grpc.keepalive_timeout_ms': 5_000,
        'grpc.keepalive_permit_without_calls': 1,
      })
      this.clients.set(address, client)
    }
    return client
  }

  /** Calls from now on show these credentials (a renewed certificate); open streams keep their connections. */
  setCredentials(credentials: ChannelCredentials): void {
    this.credentials = credentials
    this.retired.push(...this.clients.values())
    this.clients.clear()
  }

  /** Opens the AnnouncePeer stream of one peer with the scheduler at `address`. */
  openPeerSession(address: string, ids: { hostId: HostId; taskId: TaskId; peerId: PeerId }, logger: Logger): PeerSession {
    return new PeerSession(
      { stream: this.client(address).announcePeer(), clock: this.components.clock, logger },
      { address, ids, reportBatching: PIECE_REPORT_BATCHING },
    )
  }

  /** The scheduler that owns `taskId` among those up and not in `exclude`. */
  pick(taskId: string, exclude: ReadonlySet<string> = new Set()): string | undefined {
    const up = this.addresses.filter((address) => !exclude.has(address) && this.usable(address))
    return rendezvousPick(taskId, up, (address) => address)
  }

  markDown(address: string): void {
    this.downUntilMs.set(address, this.components.clock.nowMs() + DOWN_COOLDOWN_MS)
  }

  markUp(address: string): void {
    this.downUntilMs.delete(address)
  }

  close(): void {
    this.unsubscribe()
    for (const client of [...this.clients.values(), ...this.retired.splice(0)]) client.close()
    this.clients.clear()
  }

  /**
   * A scheduler that left the directory is asked nothing more: its channel closes (grpc-js lets
   * calls already open on it run to their end) and its down mark is dropped, so it starts afresh
   * if it comes back.
   */
  private forgetAllBut(members: readonly string[]): void {
    const kept = new Set(members)
    for (const [address, client] of this.clients) {
      if (kept.has(address)) continue
      client.close()
      this.clients.delete(address)
    }
    for (const address of this.downUntilMs.keys()) if (!kept.has(address)) this.downUntilMs.delete(address)
  }

  /**
   * A scheduler marked down is passed over for the cooldown, and after it until its connection
   * is up again: a scheduler that accepts connections but never answers (blackholed, or stopped)
   * then costs one registration timeout, not one per download.
   */
  private usable(address: string): boolean {
    const downUntilMs = this.downUntilMs.get(address)
    if (downUntilMs === undefined) return true
    if (this.components.clock.nowMs() < downUntilMs) return false
    if (!this.connected(address)) return false
    this.downUntilMs.delete(address)
    return true
  }

  private connected(address: string): boolean {
    if (this.components.connected !== undefined) return this.components.connected(address)
    return this.client(address).getChannel().getConnectivityState(true) === connectivityState.READY
  }
}
