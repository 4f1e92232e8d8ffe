import type { Clock } from '../common/clock.js'
import type { Logger } from '../common/logger.js'
import type { PeerId } from '../protocol/ids.js'
import type {
  BackToSourceStarted,
  ContentDigestMismatch,
  PeerFailed,
  PeerFinished,
  PieceFailed,
  PiecesFinished,
  Reschedule,
} from '../protocol/generated/damselfly/scheduler/v1/scheduler.js'
import type { Peer } from './peer.js'
import type { PieceAnnouncer } from './piece-announcer.js'
import { parsePiecesFinished, sourceVerdictOf, type FinishedPiece } from './request-parsing.js'
import type { ResourceStore } from './resource-store.js'
import type { ScheduleRunner } from './schedule-runner.js'
import type { SchedulerMetrics } from './scheduler-metrics.js'
import type { SwarmRecorder } from './swarm-recorder.js'

/** What a registered peer reports on its stream, after `register`. */
export type PeerEvent =
  | { $case: 'backToSourceStarted'; value: BackToSourceStarted }
  | { $case: 'piecesFinished'; value: PiecesFinished }
  | { $case: 'pieceFailed'; value: PieceFailed }
  | { $case: 'reschedule'; value: Reschedule }
  | { $case: 'peerFinished'; value: PeerFinished }
  | { $case: 'peerFailed'; value: PeerFailed }
  | { $case: 'contentDigestMismatch'; value: ContentDigestMismatch }

/** Applies a registered peer's reports to the resource model. Throws INVALID_ARGUMENT on malformed input. */
export class PeerEvents {
  constructor(
    private readonly components: {
      store: ResourceStore; runner: ScheduleRunner; announcer: PieceAnnouncer; metrics: SchedulerMetrics; logger: Logger
      recorder: SwarmRecorder; clock: Clock
    },
    /** A running peer is offered new parents up to `maxParents`; a new parent goes to `maxChildren` peers at most. */
    private readonly init: { offers: { maxParents: number; maxChildren: number } },
  ) {}

  handle(peer: Peer, event: PeerEvent): void {
    switch (event.$case) {
      case 'backToSourceStarted':
        this.backToSourceStarted(peer, event.value)
        return
      case 'piecesFinished':
        this.piecesFinished(peer, event.value)
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

  /** The fields that say whose event a log line is about; cheaper than a child logger per event. */
  private about(peer: Peer): { taskId: string; peerId: string } {
    return { taskId: peer.task.id, peerId: peer.id }
  }

  private backToSourceStarted(peer: Peer, started: BackToSourceStarted): void {
    this.components.runner.cancel(peer.id)
    peer.state = 'back-to-source'
    // A peer the scheduler sent there has its reason already; this one went on its own.
    this.components.recorder.wentToSource(peer, 'peer_fallback')
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
      this.components.logger.warn({ ...this.about(peer), known: task.contentLengthBytes, reported: contentLengthBytes }, 'content length differs from the known one')
    }
  }

  /**
   * A report of pieces the peer stored, each checked against the authority (or made it, from a
   * voucher), each new one announced to the peer's children; the peer's first piece offers it as
   * a parent, and waiting peers are woken once for the whole report.
   */
  private piecesFinished(peer: Peer, report: PiecesFinished): void {
    const pieces = parsePiecesFinished(report)
    const hadPieces = peer.finishedPieces.size > 0
    const nowMs = this.components.clock.nowMs()
    let added = false
    for (const finished of pieces) added = this.pieceFinished(peer, finished, nowMs) || added
    if (!added) return
    if (!hadPieces && !peer.host.seed) this.components.runner.offerNewParent(peer, this.init.offers)
    this.components.runner.wake(peer.task)
  }

  /** Applies one finished piece; true when the peer now holds a piece it did not before. */
  private pieceFinished(peer: Peer, finished: FinishedPiece, nowMs: number): boolean {
    const { piece, parentPeerId } = finished
    const task = peer.task
    const parent = parentPeerId === undefined ? undefined : task.peers.get(parentPeerId)
    const outcome = task.recordPiece(piece, parentPeerId === undefined && peer.vouches ? peer.hostId : undefined)
    // Unverified is not held against the parent: the record may be gone with a restarted scheduler.
    if (outcome === 'unverified') return false
    if (outcome === 'recorded') this.components.announcer.learned(task, piece.number)
    if (outcome === 'mismatch') {
      this.components.metrics.pieceDigestMismatches.inc()
      if (parentPeerId === undefined) return false
      if (parent !== undefined) parent.badContentCount++
      this.blocklist(peer, parentPeerId, 'bad_content')
      return false
    }
    if (parentPeerId === undefined && finished.content.length > 0 && !task.recordTinyContent(Buffer.from(finished.content))) {
      this.components.logger.warn({ ...this.about(peer), bytes: finished.content.length }, 'tiny content does not match its piece; not kept')
    }
    parent?.recordUpload({ costMs: finished.costMs })
    if (peer.finishedPieces.has(piece.number)) return false
    peer.finishedPieces.add(piece.number)
    // Counted once per piece a peer gains: a repeated report moved no bytes.
    this.components.recorder.delivered(peer, parentPeerId, parent, piece.length, nowMs)
    this.components.announcer.announce(peer, piece.number)
    return true
  }

  private pieceFailed(peer: Peer, failed: PieceFailed): void {
    if (failed.parentPeerId === '') return
    const parentId = failed.parentPeerId as PeerId
    const parent = peer.task.peers.get(parentId)
    parent?.recordUpload('failed')
    this.components.logger.debug({ ...this.about(peer), piece: failed.number, parentId, badContent: failed.badContent, reason: failed.reason }, 'piece failed')
    if (!failed.badContent) return
    if (parent !== undefined) parent.badContentCount++
    this.blocklist(peer, parentId, 'bad_content')
  }

  private blocklist(peer: Peer, parentId: PeerId, reason: 'bad_content' | 'reschedule'): void {
    if (peer.blocklist.has(parentId)) return
    peer.blocklist.add(parentId)
    peer.task.graph.deleteEdge(parentId, peer.id)
    this.components.metrics.blocklistedParents.inc({ reason })
    this.components.logger.info({ ...this.about(peer), parentId, reason }, 'parent blocklisted')
  }

  private reschedule(peer: Peer, reschedule: Reschedule): void {
    for (const parentId of reschedule.blocklist) {
      if (parentId !== '') this.blocklist(peer, parentId as PeerId, 'reschedule')
    }
    this.components.logger.debug({ ...this.about(peer), reason: reschedule.reason }, 'reschedule asked')
    peer.state = 'pending'
    this.components.runner.run(peer)
  }

  private peerFinished(peer: Peer, finished: PeerFinished): void {
    this.components.runner.cancel(peer.id)
    if (finished.contentLength > 0 || finished.pieceCount === 0) this.learnContentLength(peer, finished.contentLength)
    peer.state = 'succeeded'
    this.components.recorder.peerEnded(peer, 'finished')
    // A finished peer needs no parents, nor news of their pieces; it goes on serving its children.
    peer.task.graph.deleteInEdges(peer.id)
    this.components.logger.info({ ...this.about(peer), pieces: peer.finishedPieces.size }, 'peer finished')
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
    this.components.logger.warn({ ...this.about(peer), expected: mismatch.expected.slice(0, 200), actual: mismatch.actual.slice(0, 200), distrusted }, 'content failed its digest; dropped the task\'s digests')
  }

  /**
   * A failed seed peer is what its task's waiting peers waited for: they hear of it at once
   * (schedule-runner.ts, `seedPeerFailed`) instead of at their next retries.
   */
  private peerFailed(peer: Peer, failed: PeerFailed): void {
    this.components.runner.cancel(peer.id)
    peer.state = 'failed'
    this.components.recorder.peerEnded(peer, 'failed')
    peer.task.graph.deleteInEdges(peer.id)
    peer.task.graph.deleteOutEdges(peer.id)
    this.components.logger.info({ ...this.about(peer), reason: failed.reason.slice(0, 500), code: failed.code, sourceStatus: failed.sourceStatus || undefined }, 'peer failed')
    if (peer.host.seed && !peer.task.distrustedHosts.has(peer.hostId)) this.components.runner.seedPeerFailed(peer, sourceVerdictOf(failed))
  }
}
