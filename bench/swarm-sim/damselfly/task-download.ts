import type { ClientDuplexStream } from '@grpc/grpc-js'
import { silentLogger } from '../../../src/common/logger.js'
import type { SourceSlots } from '../../../src/daemon/download/source-slots.js'
import { PeerSession } from '../../../src/daemon/scheduler-client/peer-session.js'
import { PIECE_REPORT_BATCHING } from '../../../src/daemon/scheduler-client/report-batcher.js'
import { parseSchedulerAnswer, type SchedulerAnswer } from '../../../src/daemon/scheduler-client/scheduler-answers.js'
import { DamselflyError } from '../../../src/protocol/damselfly-error.js'
import type { AnnouncePeerRequest, AnnouncePeerResponse } from '../../../src/protocol/generated/damselfly/scheduler/v1/scheduler.js'
import type { HostId, PeerId } from '../../../src/protocol/ids.js'
import type { EventLoop, Timer } from '../engine.js'
import type { Network } from '../network.js'
import type { Random } from '../random.js'
import type { RunProgress } from '../run-progress.js'
import { ParentDownload, type ParentOutcome } from './parent-download.js'
import type { PieceTrace } from './piece-trace.js'
import type { PeerStream, SchedulerHost } from './scheduler-host.js'
import { SourceFetch } from './source-fetch.js'
import type { CatalogTask, TaskCatalog } from './task-catalog.js'
import type { HeldPieces, UploadServer } from './upload-server.js'

/** The daemon's settings a download follows (its config's defaults). */
export interface DownloadSettings {
  readonly concurrentPieceCount: number
  readonly registerTimeoutMs: number
  readonly scheduleTimeoutMs: number
}

/**
 * The client half of an AnnouncePeer stream, as the real PeerSession writes to it: requests go to
 * the simulated scheduler as messages. The session's own reading of answers is not used (it
 * waits on the wall clock): answers reach the download straight from the scheduler's host.
 */
class SessionStream {
  private ended = false

  constructor(private readonly stream: PeerStream) {}

  write(request: AnnouncePeerRequest): boolean {
    if (!this.ended) this.stream.write(request)
    return true
  }

  end(): void {
    if (this.ended) return
    this.ended = true
    this.stream.end()
  }

  cancel(): void {
    this.end()
  }

  on(): this {
    return this
  }
}

type Phase = 'registering' | 'deciding' | 'parents' | 'source' | 'ended'

/**
 * One task's download on a simulated daemon, as src/daemon/download/task-download.ts and
 * peer-phase.ts run it: register with the scheduler over the real PeerSession (its messages and
 * report batching, on the loop's clock), wait for `registered` (registerTimeout) and a decision
 * (scheduleTimeout), then follow it: parents (parent-download.ts), back to source, or a failure.
 * What the parents cannot give goes to the source phase with the session kept, so the scheduler
 * hears of those pieces; a scheduler that never answered leaves the source phase without one.
 * At the end `peer_finished` (or `peer_failed`), then the stream ends; the pieces stay served.
 */
export class TaskDownload {
  private readonly stream: SessionStream
  private readonly session: PeerSession
  /** The session the source phase reports to: none when the scheduler never took the peer. */
  private reportingSession: PeerSession | undefined
  private phase: Phase = 'registering'
  private timer: Timer | undefined
  private parents: ParentDownload | undefined
  private source: SourceFetch | undefined

  constructor(
    private readonly components: {
      readonly loop: EventLoop
      readonly network: Network
      readonly catalog: TaskCatalog
      readonly scheduler: SchedulerHost
      readonly held: HeldPieces
      readonly sourceSlots: SourceSlots
      readonly uploadServerAt: (ip: string) => UploadServer | undefined
      readonly random: Random
      readonly progress: RunProgress
      readonly trace?: PieceTrace | undefined
    },
    private readonly init: {
      readonly host: number
      readonly origin: number
      readonly ids: { readonly hostId: HostId; readonly peerId: PeerId }
      readonly task: CatalogTask
      readonly settings: DownloadSettings
      readonly onEnd: (outcome: 'done' | 'failed') => void
    },
  ) {
    const { scheduler, loop } = components
    this.stream = new SessionStream(scheduler.openPeerStream(init.host, (response) => this.answered(response)))
    this.session = new PeerSession(
      { stream: this.stream as unknown as ClientDuplexStream<AnnouncePeerRequest, AnnouncePeerResponse>, clock: loop.clock, logger: silentLogger() },
      { address: 'scheduler', ids: { ...init.ids, taskId: init.task.taskId }, reportBatching: PIECE_REPORT_BATCHING },
    )
  }

  start(): void {
    this.session.register({ download: this.init.task.asked, heldPieces: [], contentLengthBytes: undefined })
    this.wait(this.init.settings.registerTimeoutMs)
  }

  /** The host left: its stream ends with it (no report waiting goes out), and nothing it started counts. */
  leave(): void {
    this.phase = 'ended'
    this.cancelTimer()
    this.parents?.stop()
    this.source?.stop()
    this.stream.end()
  }

  private answered(response: AnnouncePeerResponse): void {
    const answer = parseSchedulerAnswer(response)
    if (answer === undefined) return
    switch (this.phase) {
      case 'registering':
        this.cancelTimer()
        if (answer.kind === 'registered') {
          this.phase = 'deciding'
          this.wait(this.init.settings.scheduleTimeoutMs)
        } else {
          this.follow(answer)
        }
        return
      case 'deciding':
        this.cancelTimer()
        this.follow(answer)
        return
      case 'parents':
        this.parents?.apply(answer)
        return
      case 'source':
      case 'ended':
        return
    }
  }

  /** Waits for the scheduler's next answer; without one in time, the daemon goes to the source without it. */
  private wait(timeoutMs: number): void {
    this.timer = this.components.loop.after(timeoutMs, () => {
      this.timer = undefined
      this.session.close()
      this.toSource(undefined)
    })
  }

  private cancelTimer(): void {
    if (this.timer !== undefined) this.components.loop.cancel(this.timer)
    this.timer = undefined
  }

  /** Acts on the scheduler's first decision for this peer, as PeerPhase.follow does. */
  private follow(first: SchedulerAnswer): void {
    switch (first.kind) {
      case 'parents': {
        if (first.task === undefined) {
          this.toSource(this.session)
          return
        }
        this.phase = 'parents'
        this.parents = new ParentDownload({ ...this.components, session: this.session }, {
          host: this.init.host,
          task: this.init.task,
          concurrentPieceCount: this.init.settings.concurrentPieceCount,
          onEnd: (outcome) => this.parentsEnded(outcome),
        })
        this.parents.apply(first)
        return
      }
      case 'schedule-failed':
      case 'source-failed':
        this.fail(new DamselflyError('SCHEDULE_FAILED', `the scheduler found no parent for task ${this.init.task.taskId}`))
        return
      default:
        this.toSource(this.session)
    }
  }

  private parentsEnded(outcome: ParentOutcome): void {
    if (outcome === 'done') this.finish(this.session)
    else if (outcome === 'back-to-source') this.toSource(this.session)
    else this.fail(new DamselflyError('SCHEDULE_FAILED', `the scheduler gave up on task ${this.init.task.taskId}`))
  }

  private toSource(session: PeerSession | undefined): void {
    this.phase = 'source'
    this.reportingSession = session
    this.source = new SourceFetch(
      { ...this.components, session },
      { host: this.init.host, origin: this.init.origin, task: this.init.task, concurrentPieceCount: this.init.settings.concurrentPieceCount, onDone: () => this.finish(session) },
    )
    this.source.run()
  }

  private finish(session: PeerSession | undefined): void {
    this.phase = 'ended'
    const { task } = this.init
    session?.peerFinished({ contentLengthBytes: task.sim.sizeBytes, pieceCount: task.pieceCount })
    session?.close()
    this.init.onEnd('done')
  }

  private fail(failure: DamselflyError): void {
    this.phase = 'ended'
    const session = this.reportingSession ?? this.session
    session.peerFailed(failure)
    session.close()
    this.init.onEnd('failed')
  }
}
