import type { HostId, PeerId } from '../protocol/ids.js'
import type { AnnouncePeerResponse, Download } from '../protocol/generated/damselfly/scheduler/v1/scheduler.js'
import type { Host } from './host.js'
import { LazySet } from './lazy-set.js'
import type { MessageSink } from './message-sink.js'
import { PeerTraffic } from './peer-traffic.js'
import { PieceSet } from './piece-set.js'
import type { PieceDigest, Task } from './task.js'
import { UploadCosts } from './upload-costs.js'

export const PEER_STATES = ['pending', 'running', 'back-to-source', 'succeeded', 'failed', 'left'] as const
export type PeerState = (typeof PEER_STATES)[number]

/**
 * One host's download of one task. A scheduler holds up to hundreds of thousands: what each keeps
 * is sized for that (bitsets of piece numbers, tables allocated only once used).
 */
export class Peer {
  /** Piece numbers this peer holds whose digest matches the task's authoritative record. */
  readonly finishedPieces = new PieceSet()
  /** Parents never offered to this peer again. */
  readonly blocklist = new LazySet<PeerId>()
  /** The live AnnouncePeer stream; undefined once it has ended. */
  stream: MessageSink<AnnouncePeerResponse> | undefined
  /** How long the pieces this peer uploaded to children took. */
  readonly uploadCosts = new UploadCosts()
  uploadFailureCount = 0
  /** Pieces children refused because their digest differed from the record. */
  badContentCount = 0
  /** Schedules that found no parent since the last one that did. */
  failedScheduleCount = 0
  /** Set when this scheduler told the peer to fetch from the source: its digests may then become the authority. */
  backToSourceGranted = false
  lastActiveMs: number
  /** What it received and sent, for the console's swarm view. */
  readonly traffic: PeerTraffic
  /** Where the task keeps this peer in its lists for sampling (task.ts); -1 while in none. */
  taskSlot = -1
  runningSlot = -1
  /** Pieces whose authoritative digest this peer was sent: each goes to it once. */
  private readonly digestsSent = new PieceSet()
  private stateValue: PeerState = 'pending'

  constructor(
    readonly id: PeerId,
    readonly host: Host,
    readonly task: Task,
    /** What the client asked for; headers are kept in memory only, to hand to a seed peer. */
    readonly download: Download,
    /** When it registered. */
    readonly registeredMs: number,
  ) {
    this.lastActiveMs = registeredMs
    this.traffic = new PeerTraffic(registeredMs)
  }

  get state(): PeerState {
    return this.stateValue
  }

  /** Changes the state and tells the task, which counts its peers by state. */
  set state(next: PeerState) {
    const previous = this.stateValue
    if (previous === next) return
    this.stateValue = next
    this.task.peerStateChanged(this, previous)
  }

  /** Uploads that delivered a piece. */
  get uploadSuccessCount(): number {
    return this.uploadCosts.count
  }

  get hostId(): HostId {
    return this.host.id
  }

  /** Priority 0 means "unset" and is treated like the default, 6. */
  get priority(): number {
    return this.download.priority === 0 ? 6 : this.download.priority
  }

  /** True while the peer's own stream is open. */
  get connected(): boolean {
    return this.stream !== undefined
  }

  /**
   * Whether what this peer fetched from the source may become the task's authority: a seed host
   * (its role checked against its certificate), or a peer this scheduler sent back to source;
   * never a host whose digests for the task already failed. A registering or resuming peer, or one
   * that went to the source on its own, only ever has its pieces checked.
   */
  get vouches(): boolean {
    return (this.host.seed || this.backToSourceGranted) && !this.task.distrustedHosts.has(this.host.id)
  }

  /**
   * The authoritative digests of `numbers` this peer was not sent yet, in the order given, now
   * counted as sent; pieces without an authoritative record are left out.
   */
  unsentDigests(numbers: Iterable<number>): PieceDigest[] {
    const digests: PieceDigest[] = []
    for (const number of numbers) {
      if (this.digestsSent.has(number)) continue
      const piece = this.task.piece(number)
      if (piece === undefined) continue
      this.digestsSent.add(number)
      digests.push({ number, digest: piece.digest })
    }
    return digests
  }

  /** The task's digests were dropped: whatever this peer was sent no longer stands, so new ones go out again. */
  forgetSentDigests(): void {
    this.digestsSent.clear()
  }

  touch(nowMs: number): void {
    this.lastActiveMs = nowMs
  }

  recordUpload(outcome: { costMs: number } | 'failed'): void {
    if (outcome === 'failed') this.uploadFailureCount++
    else this.uploadCosts.record(outcome.costMs)
  }
}
