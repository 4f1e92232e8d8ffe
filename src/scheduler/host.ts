import type { HostId, PeerId } from '../protocol/ids.js'
import type { HostIdentity } from '../security/identity.js'
import type { AnnounceHostResponse } from '../protocol/generated/damselfly/scheduler/v1/scheduler.js'
import type { MessageSink } from './message-sink.js'

/** What a host says about itself; refreshed with every announce. */
export interface HostInfo {
  readonly id: HostId
  readonly ip: string
  readonly hostname: string
  readonly uploadPort: number
  readonly idc: string
  /** `|`-separated, most general first, e.g. `country|province|city`. */
  readonly location: string
  /** A seed host fetches tasks from the source when the scheduler asks it to. */
  readonly seed: boolean
  /** The host downloads through P2P but serves nobody. */
  readonly disableShared: boolean
  /** Its upload server speaks TLS; otherwise children sign their requests (encryption turned off). */
  readonly uploadTls: boolean
  /** The daemon's version and operating system, as it says; '' when it does not. */
  readonly version: string
  readonly os: string
}

export interface HostLoad {
  readonly concurrentUploadLimit: number
  readonly concurrentUploadCount: number
  readonly uploadCapacityBytesPerSecond: number
}

/** One machine running a daemon, as the scheduler knows it. */
export class Host {
  info: HostInfo
  load: HostLoad
  /** The live AnnounceHost stream; commands (seed_task) are pushed here. */
  stream: MessageSink<AnnounceHostResponse> | undefined
  lastSeenMs: number
  readonly peerIds = new Set<PeerId>()
  /** Who its certificate says it is; undefined on a scheduler running without identities. */
  identity: HostIdentity | undefined
  /**
   * Children the scheduler gave its peers, all tasks together (edges of the tasks' graphs): what
   * they will ask of its uplink soon, which its announced upload count, up to an announce
   * interval old, does not show yet.
   */
  children = 0

  constructor(info: HostInfo, load: HostLoad, nowMs: number) {
    this.info = info
    this.load = load
    this.lastSeenMs = nowMs
  }

  get id(): HostId {
    return this.info.id
  }

  /** A seed by its own word, and by its certificate when it has one (the service refuses the one without the other). */
  get seed(): boolean {
    return this.info.seed && (this.identity === undefined || this.identity.role === 'seed')
  }

  /** True while the host's announce stream is open: only then do its peers serve children. */
  get connected(): boolean {
    return this.stream !== undefined
  }

  /**
   * Upload slots not taken: its limit less the larger of the uploads it last announced and the
   * children it was given since. Counting children, as Dragonfly's scheduler does with each
   * edge, keeps a burst of decisions (a parent leaves, and each of its children asks at once)
   * from all going to the same few parents, whose announced load cannot have moved yet.
   */
  get freeUploadSlots(): number {
    return Math.max(0, this.load.concurrentUploadLimit - Math.max(this.load.concurrentUploadCount, this.children))
  }
}
