import { createHash } from 'node:crypto'
import type { Logger } from '../common/logger.js'
import { pieceCount, TINY_TASK_MAX_BYTES } from '../protocol/piece.js'
import type { PeerId, TaskId } from '../protocol/ids.js'
import { PeerGraph } from './peer-graph.js'
import type { Peer } from './peer.js'

/** One piece as the scheduler records it; `digest` is lowercase hex sha256. */
export interface PieceRecord {
  readonly number: number
  readonly offset: number
  readonly length: number
  readonly digest: string
}

/**
 * What became of a reported piece: `recorded` (first report from the source, now the authority),
 * `matches` (agrees with the authority), `mismatch` (differs: refused), `unverified` (reported
 * from a parent while no authority exists: refused, since nobody can vouch for it).
 */
export type PieceOutcome = 'recorded' | 'matches' | 'mismatch' | 'unverified'

/** One piece of content to distribute, with its peers and their DAG. */
export class Task {
  contentLengthBytes: number | undefined
  pieceLengthBytes: number | undefined
  readonly peers = new Map<PeerId, Peer>()
  readonly graph = new PeerGraph<PeerId>()
  /** Set once a seed host has been asked to fetch this task, so it is asked only once. */
  seedRequestedMs: number | undefined
  /** The whole content of a tiny task, checked against its piece's digest; answered inline. */
  tinyContent: Buffer | undefined
  /** When the last peer went away; undefined while the task has peers. */
  peerlessSinceMs: number | undefined
  /** A seed peer left before it finished: failed peers leave, so this is what remembers it. */
  private seedPeerLeftUnfinished = false
  private readonly pieces = new Map<number, PieceRecord>()

  constructor(
    readonly id: TaskId,
    private readonly components: { logger: Logger },
    nowMs: number,
  ) {
    this.peerlessSinceMs = nowMs
  }

  /**
   * Keeps the bytes of a tiny task (one piece of at most {@link TINY_TASK_MAX_BYTES}) once they
   * match the recorded digest; later peers then get them inline. False when they do not match.
   */
  recordTinyContent(content: Buffer): boolean {
    const piece = this.pieces.get(0)
    if (content.length > TINY_TASK_MAX_BYTES || piece === undefined || piece.length !== content.length) return false
    if (createHash('sha256').update(content).digest('hex') !== piece.digest) return false
    this.tinyContent = content
    return true
  }

  /** Known once both lengths are. */
  get pieceCount(): number | undefined {
    if (this.contentLengthBytes === undefined || this.pieceLengthBytes === undefined || this.pieceLengthBytes <= 0) return undefined
    return pieceCount(this.contentLengthBytes, this.pieceLengthBytes)
  }

  /** The authoritative record of a piece, or undefined when no source report exists yet. */
  piece(number: number): PieceRecord | undefined {
    return this.pieces.get(number)
  }

  /**
   * Checks a reported piece against the authority. The first digest reported by a peer that
   * fetched the piece from the source becomes the authority; any later report that differs is
   * refused and logged. Safe to repeat with the same piece.
   */
  recordPiece(piece: PieceRecord, fromSource: boolean): PieceOutcome {
    const known = this.pieces.get(piece.number)
    if (known === undefined) {
      if (!fromSource) {
        this.components.logger.warn({ piece: piece.number }, 'piece reported from a parent has no authoritative digest')
        return 'unverified'
      }
      this.pieces.set(piece.number, { number: piece.number, offset: piece.offset, length: piece.length, digest: piece.digest })
      return 'recorded'
    }
    if (known.digest === piece.digest) return 'matches'
    this.components.logger.warn(
      { piece: piece.number, recorded: known.digest, reported: piece.digest, fromSource },
      'piece digest differs from the authoritative record',
    )
    return 'mismatch'
  }

  addPeer(peer: Peer): void {
    this.peers.set(peer.id, peer)
    this.graph.addVertex(peer.id)
    this.peerlessSinceMs = undefined
  }

  removePeer(peerId: PeerId, nowMs: number): void {
    const peer = this.peers.get(peerId)
    if (peer?.host.seed === true && peer.state !== 'succeeded') this.seedPeerLeftUnfinished = true
    this.peers.delete(peerId)
    this.graph.removeVertex(peerId)
    if (this.peers.size === 0) this.peerlessSinceMs = nowMs
  }

  /** Peers fetching from the source right now (or told to). */
  get backToSourcePeerCount(): number {
    let count = 0
    for (const peer of this.peers.values()) if (peer.state === 'back-to-source') count++
    return count
  }

  /** True until a seed peer asked to fetch the task has failed or left (also before it registered). */
  get hasSeedPeerOrPending(): boolean {
    let seen = false
    for (const peer of this.peers.values()) {
      if (!peer.host.seed) continue
      seen = true
      if (peer.state !== 'failed' && peer.state !== 'left') return true
    }
    return !seen && !this.seedPeerLeftUnfinished
  }

  /** True when a peer on a seed host is downloading or holds this task. */
  get hasSeedPeer(): boolean {
    for (const peer of this.peers.values()) {
      if (peer.host.seed && peer.state !== 'failed' && peer.state !== 'left') return true
    }
    return false
  }
}
