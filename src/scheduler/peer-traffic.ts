import type { PeerId } from '../protocol/ids.js'
import type { BackToSourceReason } from './back-to-source-reasons.js'
import { RecentRate } from './recent-rate.js'

/** Pieces one child got from one parent. */
export interface EdgeTraffic {
  readonly bytes: number
  readonly pieces: number
}

/**
 * Parents a child keeps an edge record for: a child that churned through more parents than this
 * still counts every byte, only the further edges are not drawn.
 */
export const MAX_EDGES_PER_CHILD = 256

/**
 * What one peer received and sent, for the console's swarm view: bytes from parents and from the
 * origin, bytes it uploaded, its recent receive rate, why it went to the origin, and per parent
 * what that parent delivered. Recording a piece is O(1) but for finding its parent among the few
 * that delivered to this peer, and allocates only for a parent it has not heard of before.
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
  /**
   * By parent, what it delivered to this peer: parent id, bytes and pieces, three entries a parent,
   * in one array sized exactly, made at the first parent's piece. A Map of records cost about 300
   * bytes more for a child of four parents.
   */
  private edges: Array<PeerId | number> | undefined

  constructor(readonly createdAtMs: number) {
    this.updatedAtMs = createdAtMs
  }

  /**
   * A piece of `bytes` landed, from `parentId` or, when undefined, from the origin. The caller
   * passes the parent peer's own id string where it knows the parent, so that every child's
   * record shares it instead of holding a copy decoded from each report.
   */
  received(parentId: PeerId | undefined, bytes: number, nowMs: number): void {
    this.updatedAtMs = nowMs
    this.rate.add(nowMs, bytes)
    if (parentId === undefined) {
      this.bytesFromOrigin += bytes
      return
    }
    this.bytesFromPeers += bytes
    const edges = this.edges ?? []
    const index = edges.indexOf(parentId)
    if (index !== -1) {
      edges[index + 1] = (edges[index + 1] as number) + bytes
      edges[index + 2] = (edges[index + 2] as number) + 1
    } else if (edges.length < MAX_EDGES_PER_CHILD * EDGE_ENTRIES) {
      // A copy one parent longer: a push would reserve room for 16 more entries.
      this.edges = [...edges, parentId, bytes, 1]
    }
  }

  uploaded(bytes: number, nowMs: number): void {
    this.uploadedBytes += bytes
    this.updatedAtMs = nowMs
  }

  /** What `parentId` delivered to this peer; undefined when it delivered nothing (or past the edge limit). */
  fromParent(parentId: PeerId): EdgeTraffic | undefined {
    const index = this.edges?.indexOf(parentId) ?? -1
    return index === -1 ? undefined : this.edgeAt(index)
  }

  /** Every parent that delivered to this peer, with what it delivered, in the order they first did. */
  *fromParents(): IterableIterator<[PeerId, EdgeTraffic]> {
    const edges = this.edges ?? []
    for (let index = 0; index < edges.length; index += EDGE_ENTRIES) yield [edges[index] as PeerId, this.edgeAt(index)]
  }

  private edgeAt(index: number): EdgeTraffic {
    return { bytes: this.edges?.[index + 1] as number, pieces: this.edges?.[index + 2] as number }
  }
}

/** Entries an edge takes in PeerTraffic's array: the parent's id, bytes, pieces. */
const EDGE_ENTRIES = 3
