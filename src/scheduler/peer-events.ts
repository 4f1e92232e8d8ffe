import type { Logger } from '../common/logger.js'
import type { PeerId } from '../protocol/ids.js'
import type {
  BackToSourceStarted,
  ContentDigestMismatch,
  PeerFailed,
  PeerFinished,
  PieceFailed,
  PieceFinished,
  Reschedule,
} from '../protocol/generated/damselfly/scheduler/v1/scheduler.js'
import type { Peer } from './peer.js'
import { parsePiece, sourceVerdictOf } from './request-parsing.js'
import type { ResourceStore } from './resource-store.js'
import type { ScheduleRunner } from './schedule-runner.js'
import type { SchedulerMetrics } from './scheduler-metrics.js'
import type { PieceRecord } from './task.js'

/** What a registered peer reports on its stream, after `register`. */
export type PeerEvent =
  | { $case: 'backToSourceStarted'; value: BackToSourceStarted }
  | { $case: 'pieceFinished'; value: PieceFinished }
  | { $case: 'pieceFailed'; value: PieceFailed }
  | { $case: 'reschedule'; value: Reschedule }
  | { $case: 'peerFinished'; value: PeerFinished }
  | { $case: 'peerFailed'; value: PeerFailed }
  | { $case: 'contentDigestMismatch'; value: ContentDigestMismatch }

/** Applies a registered peer's reports to the resource model. Throws INVALID_ARGUMENT on malformed input. */
export class PeerEvents {
  constructor(
    private readonly components: { store: ResourceStore; runner: ScheduleRunner; metrics: SchedulerMetrics; logger: Logger },
    /** A running peer is offered new parents up to `maxParents`; a new parent goes to `maxChildren` peers at most. */
    private readonly init: { offers: { maxParents: number; maxChildren: number } },
  ) {}

  handle(peer: Peer, event: PeerEvent): void {
    switch (event.$case) {
      case 'backToSourceStarted':
        this.backToSourceStarted(peer, event.value)
        return
      case 'pieceFinished':
        this.pieceFinished(peer, event.value)
        return
      case 'pieceFailed':
        this.pieceFailed(peer, event.value)
        return
      case 'reschedule':
        this.reschedule(peer, event.value)
        return
      case 'peerFinished':
        this.peerFinished(peer, event.value)
        return
      case 'peerFailed':
        this.peerFailed(peer, event.value)
        return
      case 'contentDigestMismatch':
        this.contentDigestMismatch(peer, event.value)
        return
    }
  }

  private log(peer: Peer): Logger {
    return this.components.logger.child({ taskId: peer.task.id, peerId: peer.id })
  }

  private backToSourceStarted(peer: Peer, started: BackToSourceStarted): void {
    this.components.runner.cancel(peer.id)
    peer.state = 'back-to-source'
    const task = peer.task
    if (started.contentLengthKnown) this.learnContentLength(peer, started.contentLength)
    if (started.pieceLength > 0 && peer.vouches) task.pieceLengthBytes ??= started.pieceLength
  }

  /** Only a peer that may vouch for the task's digests may say how long it is: a length is content too. */
  private learnContentLength(peer: Peer, contentLengthBytes: number): void {
    const task = peer.task
    if (!peer.vouches) return
    if (task.contentLengthBytes === undefined) task.contentLengthBytes = contentLengthBytes
    else if (task.contentLengthBytes !== contentLengthBytes) {
      this.log(peer).warn({ known: task.contentLengthBytes, reported: contentLengthBytes }, 'content length differs from the known one')
    }
  }

  private pieceFinished(peer: Peer, finished: PieceFinished): void {
    const piece = parsePiece(finished.piece, 'piece_finished')
    const task = peer.task
    const fromSource = finished.parentPeerId === ''
    const parent = fromSource ? undefined : task.peers.get(finished.parentPeerId as PeerId)
    const outcome = task.recordPiece(piece, fromSource && peer.vouches ? peer.hostId : undefined)
    // Unverified is not held against the parent: the record may be gone with a restarted scheduler.
    if (outcome === 'unverified') return
    if (outcome === 'mismatch') {
      this.components.metrics.pieceDigestMismatches.inc()
      if (fromSource) return
      if (parent !== undefined) parent.badContentCount++
      this.blocklist(peer, finished.parentPeerId as PeerId, 'bad_content')
      return
    }
    if (fromSource && finished.content.length > 0 && !task.recordTinyContent(Buffer.from(finished.content))) {
      this.log(peer).warn({ bytes: finished.content.length }, 'tiny content does not match its piece; not kept')
    }
    parent?.recordUpload({ costMs: finished.costMs })
    if (peer.finishedPieces.has(piece.number)) return
    peer.finishedPieces.add(piece.number)
    this.announcePiece(peer, task.piece(piece.number) ?? piece)
    if (peer.finishedPieces.size === 1 && !peer.host.seed) this.components.runner.offerNewParent(peer, this.init.offers)
    this.components.runner.wake(task)
  }

  /** Tells every running child that has this peer as a parent that it can fetch the piece from it. */
  private announcePiece(peer: Peer, piece: PieceRecord): void {
    for (const childId of peer.task.graph.childrenOf(peer.id)) {
      const child = peer.task.peers.get(childId)
      if (child?.state !== 'running') continue
      child.stream?.write({ response: { $case: 'piecesAvailable', value: { parentPeerId: peer.id, pieces: [{ ...piece }] } } })
    }
  }

  private pieceFailed(peer: Peer, failed: PieceFailed): void {
    if (failed.parentPeerId === '') return
    const parentId = failed.parentPeerId as PeerId
    const parent = peer.task.peers.get(parentId)
    parent?.recordUpload('failed')
    this.log(peer).debug({ piece: failed.number, parentId, badContent: failed.badContent, reason: failed.reason }, 'piece failed')
    if (!failed.badContent) return
    if (parent !== undefined) parent.badContentCount++
    this.blocklist(peer, parentId, 'bad_content')
  }

  private blocklist(peer: Peer, parentId: PeerId, reason: 'bad_content' | 'reschedule'): void {
    if (peer.blocklist.has(parentId)) return
    peer.blocklist.add(parentId)
    peer.task.graph.deleteEdge(parentId, peer.id)
    this.components.metrics.blocklistedParents.inc({ reason })
    this.log(peer).info({ parentId, reason }, 'parent blocklisted')
  }

  private reschedule(peer: Peer, reschedule: Reschedule): void {
    for (const parentId of reschedule.blocklist) {
      if (parentId !== '') this.blocklist(peer, parentId as PeerId, 'reschedule')
    }
    this.log(peer).debug({ reason: reschedule.reason }, 'reschedule asked')
    peer.state = 'pending'
    this.components.runner.run(peer)
  }

  private peerFinished(peer: Peer, finished: PeerFinished): void {
    this.components.runner.cancel(peer.id)
    if (finished.contentLength > 0 || finished.pieceCount === 0) this.learnContentLength(peer, finished.contentLength)
    peer.state = 'succeeded'
    // A finished peer needs no parents, nor news of their pieces; it goes on serving its children.
    peer.task.graph.deleteInEdges(peer.id)
    this.log(peer).info({ pieces: peer.finishedPieces.size }, 'peer finished')
    this.components.runner.wake(peer.task)
  }

  /**
   * Every piece matched the recorded digests, yet the whole content failed its digest: the record
   * is wrong, whoever made it. It is dropped, its vouchers are distrusted for this task, and the
   * next schedules start over from a trusted seed or the source.
   */
  private contentDigestMismatch(peer: Peer, mismatch: ContentDigestMismatch): void {
    const distrusted = peer.task.dropAuthority()
    this.components.metrics.contentDigestMismatches.inc()
    this.log(peer).warn({ expected: mismatch.expected.slice(0, 200), actual: mismatch.actual.slice(0, 200), distrusted }, 'content failed its digest; dropped the task\'s digests')
  }

  /**
   * A failed seed peer is what its task's waiting peers waited for: they hear of it at once
   * (schedule-runner.ts, `seedPeerFailed`) instead of at their next retries.
   */
  private peerFailed(peer: Peer, failed: PeerFailed): void {
    this.components.runner.cancel(peer.id)
    peer.state = 'failed'
    peer.task.graph.deleteInEdges(peer.id)
    peer.task.graph.deleteOutEdges(peer.id)
    this.log(peer).info({ reason: failed.reason.slice(0, 500), code: failed.code, sourceStatus: failed.sourceStatus || undefined }, 'peer failed')
    if (peer.host.seed && !peer.task.distrustedHosts.has(peer.hostId)) this.components.runner.seedPeerFailed(peer, sourceVerdictOf(failed))
  }
}
