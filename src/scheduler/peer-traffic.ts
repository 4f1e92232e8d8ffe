import type { PeerId } from '../protocol/ids.js'
import type { BackToSourceReason } from './back-to-source-reasons.js'
import { RecentRate } from './recent-rate.js'

/** Pieces one child got from one parent. */
export interface EdgeTraffic {
  bytes: number
  pieces: number
}

/**
 * Parents a child keeps an edge record for: a child that churned through more parents than this
 * still counts every byte, only the further edges are not drawn.
 */
export const MAX_EDGES_PER_CHILD = 256

/**
 * What one peer received and sent, for the console's swarm view: bytes from parents and from the
 * origin, bytes it uploaded, its recent receive rate, why it went to the origin, and per parent
 * what that parent delivered. Recording a piece is O(1) and allocates only for a parent it has
 * not heard of before.
 */
export class PeerTraffic {
  bytesFromPeers = 0
  bytesFromOrigin = 0
  uploadedBytes = 0
  /** Set once, when the peer was sent to (or went to) the origin. */
  backToSourceReason: BackToSourceReason | undefined
  /** Whether the peer's end (finished, failed) was counted already. */
  outcomeCounted = false
  updatedAtMs: number
  readonly rate = new RecentRate()
  /** By parent: what it delivered to this peer. */
  readonly fromParents = new Map<PeerId, EdgeTraffic>()

  constructor(readonly createdAtMs: number) {
    this.updatedAtMs = createdAtMs
  }

  /** A piece of `bytes` landed, from `parentId` or, when undefined, from the origin. */
  received(parentId: PeerId | undefined, bytes: number, nowMs: number): void {
    this.updatedAtMs = nowMs
    this.rate.add(nowMs, bytes)
    if (parentId === undefined) {
      this.bytesFromOrigin += bytes
      return
    }
    this.bytesFromPeers += bytes
    const edge = this.fromParents.get(parentId)
    if (edge !== undefined) {
      edge.bytes += bytes
      edge.pieces++
    } else if (this.fromParents.size < MAX_EDGES_PER_CHILD) {
      this.fromParents.set(parentId, { bytes, pieces: 1 })
    }
  }

  uploaded(bytes: number, nowMs: number): void {
    this.uploadedBytes += bytes
    this.updatedAtMs = nowMs
  }
}
