import type { Clock } from '../common/clock.js'
import type { PeerId } from '../protocol/ids.js'
import type { BackToSourceReason } from './back-to-source-reasons.js'
import type { ClusterStats } from './cluster-stats.js'
import type { Peer } from './peer.js'
import type { Task } from './task.js'

/**
 * Keeps what the console shows, as the scheduler's events happen: each peer's and task's traffic
 * (peer-traffic.ts, task.ts) and the scheduler's per-minute counters (cluster-stats.ts). Every
 * method is O(1); `delivered` runs once per piece a peer reports, the scheduler's hot path.
 */
export class SwarmRecorder {
  constructor(private readonly components: { stats: ClusterStats; clock: Clock }) {}

  get stats(): ClusterStats {
    return this.components.stats
  }

  taskStarted(): void {
    this.components.stats.add('tasksStarted')
  }

  peerStarted(): void {
    this.components.stats.add('peersStarted')
  }

  /**
   * A new piece of `bytes` landed on `child`, from `parentId` (`parent` while the scheduler still
   * knows it) or, when undefined, from the origin. `nowMs` is read once per report by the caller.
   */
  delivered(child: Peer, parentId: PeerId | undefined, parent: Peer | undefined, bytes: number, nowMs: number): void {
    const { stats } = this.components
    const traffic = child.task.traffic
    // The parent's own id string, where the parent is known: the report's is a copy per message.
    child.traffic.received(parent?.id ?? parentId, bytes, nowMs)
    if (parentId === undefined) {
      traffic.bytesFromOrigin += bytes
      stats.add('bytesFromOrigin', bytes, nowMs)
      return
    }
    traffic.bytesFromPeers += bytes
    stats.add('bytesFromPeers', bytes, nowMs)
    if (parent === undefined) return
    parent.traffic.uploaded(bytes, nowMs)
    if (parent.host.seed) {
      traffic.bytesFromSeedPeers += bytes
      stats.add('bytesFromSeedPeers', bytes, nowMs)
    }
  }

  /** The peer was sent, or went, to the origin: the first reason stands and is counted once. */
  wentToSource(peer: Peer, reason: BackToSourceReason): void {
    if (peer.traffic.backToSourceReason !== undefined) return
    peer.traffic.backToSourceReason = reason
    this.components.stats.backToSource(reason)
  }

  /** The peer finished or failed: counted once, whichever report or decision says it first; a task finishes with its first peer. */
  peerEnded(peer: Peer, outcome: 'finished' | 'failed'): void {
    if (peer.traffic.outcomeCounted) return
    peer.traffic.outcomeCounted = true
    const { stats, clock } = this.components
    peer.traffic.updatedAtMs = clock.nowMs()
    if (outcome === 'failed') {
      stats.add('peersFailed')
      return
    }
    stats.add('peersFinished')
    this.taskFinished(peer.task)
  }

  private taskFinished(task: Task): void {
    if (task.finishedAtMs !== undefined) return
    task.finishedAtMs = this.components.clock.nowMs()
    this.components.stats.add('tasksFinished')
  }
}
