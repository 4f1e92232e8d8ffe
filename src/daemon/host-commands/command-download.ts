import type { Clock } from '../../common/clock.js'
import type { Logger } from '../../common/logger.js'
import { TokenBucket } from '../../common/token-bucket.js'
import { DamselflyError, toDamselflyError } from '../../protocol/damselfly-error.js'
import type { TaskId } from '../../protocol/ids.js'
import type { DownloadTaskOutcome, DownloadTaskProgress } from '../../protocol/generated/damselfly/scheduler/v1/scheduler.js'
import type { ContentStore, StoredTask } from '../../storage/content-store.js'
import { OutputFile } from '../../storage/output-file.js'
import type { TaskManager } from '../download/task-manager.js'
import type { HostReport } from '../scheduler-client/host-announcer.js'
import type { DownloadTaskCommand } from './host-command-parsing.js'
import { resolveOutputPath } from './output-path.js'
import { totalPiecesOf } from './task-stat.js'
import { TransferRate } from './transfer-rate.js'

/** What a host command needs of the task manager; a fake in unit tests. */
export type CommandTasks = Pick<TaskManager, 'download' | 'identify' | 'abort' | 'isRunning'>

export interface CommandDownloadComponents {
  readonly tasks: CommandTasks
  readonly store: ContentStore
  readonly clock: Clock
  readonly logger: Logger
  /** Answers on the stream the command came on; dropped once that stream ended. */
  readonly reply: (report: HostReport) => void
}

/** Rejects with the signal's reason once it aborts, else settles as `promise` does. */
function unlessAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason as Error)
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => {
      reject(signal.reason as Error)
    }
    signal.addEventListener('abort', onAbort, { once: true })
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort)
        resolve(value)
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort)
        reject(toDamselflyError(error))
      },
    )
  })
}

/**
 * One download_task command: checks its output path before anything is fetched, downloads the
 * task on behalf of another host (the seed source policy applies) with the command's own rate
 * cap, reports progress every `progressIntervalMs` while it runs, writes the verified content to
 * the output path atomically, and answers one outcome. A task complete in the store succeeds at
 * once. A command that joins a download already running for its task gets that download's pace:
 * its own cap then does not apply.
 */
export class CommandDownload {
  private readonly controller = new AbortController()
  private taskId: TaskId | undefined
  private readonly rate = new TransferRate()
  /** Settles once a cancelled download stopped, so the outcome goes out after it did. */
  private aborting: Promise<unknown> = Promise.resolve()

  constructor(
    private readonly components: CommandDownloadComponents,
    private readonly init: { command: DownloadTaskCommand; outputDir: string },
  ) {}

  get requestId(): string {
    return this.init.command.requestId
  }

  /**
   * Stops the download with CANCELLED: the task's download fails for every client of it (the
   * manager asked to stop that task on this host), and the outcome reports CANCELLED. Safe to repeat.
   */
  cancel(reason: string): void {
    if (this.controller.signal.aborted) return
    this.controller.abort(new DamselflyError('CANCELLED', reason === '' ? 'cancelled by the manager' : `cancelled by the manager: ${reason}`))
    if (this.taskId !== undefined) {
      this.aborting = this.components.tasks.abort(this.taskId, reason === '' ? 'cancelled by the manager' : reason).catch((error: unknown) => {
        this.components.logger.warn({ err: error, taskId: this.taskId }, 'aborting a cancelled download failed')
      })
    }
  }

  /** Gives up waiting with SHUTTING_DOWN; the task manager, stopped next, stops the download itself. */
  stop(): void {
    if (!this.controller.signal.aborted) this.controller.abort(new DamselflyError('SHUTTING_DOWN', 'the daemon is stopping'))
  }

  /** Runs the download once and answers its outcome (also returned); never rejects. */
  async run(): Promise<DownloadTaskOutcome> {
    const { clock } = this.components
    const startedMs = clock.nowMs()
    let timer: NodeJS.Timeout | undefined
    let outcome: DownloadTaskOutcome
    try {
      const task = await this.download((taskId) => {
        if (this.init.command.progressIntervalMs === 0) return
        timer = setInterval(() => {
          this.reportProgress(taskId)
        }, this.init.command.progressIntervalMs)
        timer.unref()
      })
      clearInterval(timer)
      outcome = {
        requestId: this.requestId,
        taskId: task.descriptor.taskId,
        success: true,
        code: '',
        reason: '',
        contentLength: task.descriptor.contentLengthBytes ?? 0,
        totalPieces: task.finishedPieceCount,
        costMs: clock.nowMs() - startedMs,
      }
    } catch (error) {
      clearInterval(timer)
      await this.aborting
      // A cancelled download may fail with whatever the abort cut short: the outcome says why it stopped.
      const failure = this.controller.signal.aborted ? toDamselflyError(this.controller.signal.reason) : toDamselflyError(error)
      const stored = this.taskId === undefined ? undefined : this.components.store.get(this.taskId)
      outcome = {
        requestId: this.requestId,
        taskId: this.taskId ?? '',
        success: false,
        code: failure.code,
        reason: failure.message.split('\n')[0] ?? '',
        contentLength: stored?.descriptor.contentLengthBytes ?? 0,
        totalPieces: stored === undefined ? 0 : totalPiecesOf(stored.descriptor),
        costMs: clock.nowMs() - startedMs,
      }
    }
    this.components.reply({ $case: 'downloadTaskOutcome', value: outcome })
    return outcome
  }

  private async download(onStarted: (taskId: TaskId) => void): Promise<StoredTask> {
    const { tasks, clock, logger } = this.components
    const { command, outputDir } = this.init
    const { signal } = this.controller
    const target = command.outputPath === '' ? undefined : await resolveOutputPath(outputDir, command.outputPath)
    signal.throwIfAborted()
    const { taskId } = tasks.identify(command.request)
    this.taskId = taskId
    const capped = command.rateLimitBytesPerSecond > 0
    if (capped && tasks.isRunning(taskId)) logger.info({ taskId }, 'joining a running download of the task: its pace applies, not this command\'s rate limit')
    const handle = tasks.download({
      ...command.request,
      onBehalfOf: 'other-host',
      ...(capped ? { rateLimiter: new TokenBucket({ clock }, { rateBytesPerSecond: command.rateLimitBytesPerSecond }) } : {}),
    })
    onStarted(taskId)
    const task = await unlessAborted(handle.done, signal)
    if (target !== undefined) await this.writeOutput(task, target)
    return task
  }

  /** The complete content to `target`, renamed into place only once whole; held in the store meanwhile so GC leaves it. */
  private async writeOutput(task: StoredTask, target: string): Promise<void> {
    const release = task.acquire()
    const output = await OutputFile.prepare(target, true, 'damselfly')
    try {
      const contentPath = task.contentPath
      if (contentPath === undefined || !(await output.adopt(contentPath))) {
        throw new DamselflyError('OUTPUT_INVALID', `cannot link or copy the content of task ${task.descriptor.taskId} to ${target}`)
      }
      this.controller.signal.throwIfAborted()
      await output.commit()
      this.components.logger.info({ taskId: task.descriptor.taskId, path: target }, 'content written to the output path')
    } catch (error) {
      await output.discard()
      throw error
    } finally {
      release()
    }
  }

  private reportProgress(taskId: TaskId): void {
    const stored = this.components.store.get(taskId)
    let completedBytes = 0
    if (stored !== undefined) for (const piece of stored.pieces()) completedBytes += piece.length
    const progress: DownloadTaskProgress = {
      requestId: this.requestId,
      taskId,
      completedBytes,
      contentLength: stored?.descriptor.contentLengthBytes ?? 0,
      finishedPieces: stored?.finishedPieceCount ?? 0,
      totalPieces: stored === undefined ? 0 : totalPiecesOf(stored.descriptor),
      bytesPerSecond: this.rate.sample(this.components.clock.nowMs(), completedBytes),
    }
    this.components.reply({ $case: 'downloadTaskProgress', value: progress })
  }
}
