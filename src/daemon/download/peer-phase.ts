import { DamselflyError } from '../../protocol/damselfly-error.js'
import { UNKNOWN_LENGTH_PIECE_LENGTH_BYTES } from '../../protocol/piece.js'
import { SCHEDULER_PROTOCOL_REVISION } from '../../protocol/scheduler-protocol.js'
import type { StoredTask } from '../../storage/content-store.js'
import { writeWholePiece } from '../../storage/piece-writer.js'
import { newPeerId, SESSION_CLOSED, type PeerSession } from '../scheduler-client/peer-session.js'
import type { SchedulerAnswer } from '../scheduler-client/scheduler-answers.js'
import type { SchedulerPool } from '../scheduler-client/scheduler-pool.js'
import type { DownloadPhase, PhaseContext, PhaseOutcome } from './download-phase.js'
import { ParentDownload } from './parent-download.js'
import { relayedSourceFailure } from './relayed-source-failure.js'
import type { PeerComponents } from './task-download.js'

/**
 * Registers with the scheduler that owns the task (rendezvous hashing; a scheduler that does not
 * answer is passed over), or first with the one that sent a seed task, and downloads from the
 * parents it offers (parent-download.ts). What it cannot get from peers is left to the source
 * phase, with the session kept open so the scheduler hears about those pieces too.
 */
export class PeerPhase implements DownloadPhase {
  /** Pieces stored from parents: when the whole content then fails its digest, the scheduler's digests were wrong. */
  storedPieceCount = 0

  constructor(
    private readonly context: PhaseContext,
    private readonly peers: PeerComponents,
  ) {}

  async run(existing: StoredTask | undefined): Promise<PhaseOutcome> {
    const { init, log, signal } = this.context
    const { taskId, request } = init
    const { pool } = this.peers
    const exclude = new Set<string>()
    for (;;) {
      const asked = request.scheduler !== undefined && !exclude.has(request.scheduler) && pool.addresses.includes(request.scheduler)
      const address = asked ? request.scheduler : pool.pick(taskId, exclude)
      if (address === undefined) return { complete: false, task: existing }
      const hostId = this.peers.hostId()
      const session = pool.openPeerSession(address, { hostId, taskId, peerId: newPeerId(hostId) }, log)
      session.register({
        download: { ...request, filteredQueryParams: init.filteredQueryParams },
        heldPieces: existing === undefined ? [] : [...existing.pieces()],
        contentLengthBytes: existing?.descriptor.contentLengthBytes,
      })
      const first = await this.decision(session, pool, signal)
      if (first === 'scheduler-down') {
        session.close()
        pool.markDown(address)
        exclude.add(address)
        continue
      }
      if (first === 'no-decision') {
        session.close()
        return { complete: false, task: existing }
      }
      this.context.session = session
      return this.follow(first, session, existing)
    }
  }

  /** Acts on the scheduler's first decision for this peer. */
  private async follow(first: SchedulerAnswer, session: PeerSession, existing: StoredTask | undefined): Promise<PhaseOutcome> {
    const { components, init, log, signals, signal } = this.context
    const { taskId, request } = init
    switch (first.kind) {
      case 'source-failed': {
        const failure = relayedSourceFailure(first, { url: request.url, digest: request.digest, taskId })
        if (failure !== undefined) throw failure
        log.warn({ code: first.code.slice(0, 100) }, 'the scheduler relayed a failure this daemon does not know; going back to source')
        return { complete: false, task: existing }
      }
      case 'empty-task': {
        const task = await this.context.createTask({ contentLengthBytes: 0, pieceLengthBytes: request.pieceLengthBytes ?? UNKNOWN_LENGTH_PIECE_LENGTH_BYTES })
        this.context.publishDescriptor(task.descriptor)
        return { complete: true, task, from: 'remote_peer' }
      }
      case 'tiny-task': {
        const { content } = first
        const task = await this.context.createTask({ contentLengthBytes: content.length, pieceLengthBytes: request.pieceLengthBytes ?? UNKNOWN_LENGTH_PIECE_LENGTH_BYTES })
        if (content.length > 0) await writeWholePiece(task, 0, [content])
        this.context.publishDescriptor(task.descriptor)
        signals.ready(0)
        return { complete: true, task, from: 'remote_peer' }
      }
      case 'schedule-failed':
        throw new DamselflyError('SCHEDULE_FAILED', `the scheduler found no parent for task ${taskId}: ${first.reason}`, { details: { taskId } })
      case 'parents': {
        const lengths = first.task
        if (lengths === undefined) return { complete: false, task: existing }
        const reusable = existing !== undefined && existing.descriptor.contentLengthBytes === lengths.contentLengthBytes && existing.descriptor.pieceLengthBytes === lengths.pieceLengthBytes
        const task = reusable ? existing : await this.context.createTask({ contentLengthBytes: lengths.contentLengthBytes, pieceLengthBytes: lengths.pieceLengthBytes })
        this.context.hold(task)
        this.context.publishDescriptor(task.descriptor)
        const parents = new ParentDownload(
          { pieces: this.peers.pieces, limiter: components.limiters.download, taskLimiter: request.rateLimiter, signals, metrics: components.metrics, logger: log, clock: components.clock },
          { task, session, concurrentPieceCount: init.concurrentPieceCount, signingKey: this.peers.identity?.privateKey, asked: { url: request.url, digest: request.digest, taskId } },
        )
        const outcome = await parents.run(first, signal).finally(() => {
          this.storedPieceCount += parents.storedPieceCount
        })
        return outcome === 'done' ? { complete: true, task, from: 'remote_peer' } : { complete: false, task }
      }
      case 'back-to-source':
        // The reason says why P2P was skipped: no parent, a seed that failed, a cluster blocklist.
        log.info({ reason: first.reason.slice(0, 200) }, 'the scheduler sent the download back to source')
        return { complete: false, task: existing }
      default:
        return { complete: false, task: existing }
    }
  }

  /**
   * The scheduler's decision for a registration. A scheduler that does not take the registration
   * within `registerTimeoutMs` (it is blackholed, stopped, or gone), or whose stream ends before
   * it decides, is `scheduler-down`; one that took it but has not decided within
   * `scheduleTimeoutMs` (a seed peer still fetching, say) leaves the task to the source.
   */
  private async decision(session: PeerSession, pool: SchedulerPool, signal: AbortSignal): Promise<SchedulerAnswer | 'scheduler-down' | 'no-decision'> {
    const { log } = this.context
    const { registerTimeoutMs, scheduleTimeoutMs } = pool.waits
    const answer = await session.next(signal, registerTimeoutMs)
    if (answer === SESSION_CLOSED || answer === undefined) {
      log.warn({ scheduler: session.address, registerTimeoutMs, closed: answer === SESSION_CLOSED }, 'scheduler did not take the registration; trying another')
      return 'scheduler-down'
    }
    pool.markUp(session.address)
    if (answer.kind !== 'registered') return answer
    if (answer.protocolRevision < SCHEDULER_PROTOCOL_REVISION) {
      session.close()
      log.warn({ scheduler: session.address, revision: answer.protocolRevision, ours: SCHEDULER_PROTOCOL_REVISION }, 'the scheduler speaks an older protocol; trying another')
      return 'scheduler-down'
    }
    const decided = await session.next(signal, scheduleTimeoutMs)
    if (decided === SESSION_CLOSED) {
      log.warn({ scheduler: session.address }, 'lost the scheduler before its decision; trying another')
      return 'scheduler-down'
    }
    if (decided === undefined) {
      log.warn({ scheduler: session.address, scheduleTimeoutMs }, 'the scheduler decided nothing in time; going back to source')
      return 'no-decision'
    }
    return decided
  }
}
