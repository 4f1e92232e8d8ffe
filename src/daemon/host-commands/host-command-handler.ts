import type { Clock } from '../../common/clock.js'
import type { Logger } from '../../common/logger.js'
import type { Startable } from '../../common/startable.js'
import { toDamselflyError } from '../../protocol/damselfly-error.js'
import type { TaskId } from '../../protocol/ids.js'
import {
  TaskState,
  type CancelDownloadTask, type DeleteTaskCommand, type DownloadTask, type StatTaskCommand, type TaskDeleted,
} from '../../protocol/generated/damselfly/scheduler/v1/scheduler.js'
import type { ContentStore } from '../../storage/content-store.js'
import type { DaemonMetrics, HostCommandName, HostCommandOutcome } from '../daemon-metrics.js'
import type { CommandChannel, HostCommand } from '../scheduler-client/host-announcer.js'
import { CommandDownload, type CommandTasks } from './command-download.js'
import { echoedRequestId, parseCommandTaskId, parseDownloadTask, parseRequestId, type DownloadTaskCommand } from './host-command-parsing.js'
import { taskStatOf } from './task-stat.js'

/** Request ids of finished downloads remembered, so a repeated command is still ignored after its outcome went out. */
const REMEMBERED_REQUEST_IDS = 4096

export interface HostCommandHandlerInit {
  /** `distribution.outputDir`: where `output_path` leads; empty turns writing to paths off. */
  readonly outputDir: string
}

/**
 * Runs the commands a scheduler sends this host for the manager's jobs, and answers each on the
 * stream it came on: download_task (command-download.ts; a repeated request id is ignored),
 * cancel_download_task, stat_task (task-stat.ts) and delete_task (a running download of the task
 * is aborted, then the task deleted as garbage collection evicts one: never while a reader holds
 * it). Every command is checked at the boundary: a bad one is logged, counted and answered as
 * failed, never thrown.
 */
export class HostCommandHandler implements Startable {
  private readonly running = new Map<string, { download: CommandDownload; done: Promise<unknown> }>()
  /** Insertion-ordered: the oldest ids are forgotten first. */
  private readonly finished = new Set<string>()
  private readonly pending = new Set<Promise<unknown>>()
  private stopped = false

  constructor(
    private readonly components: { tasks: CommandTasks; store: ContentStore; metrics: DaemonMetrics; logger: Logger; clock: Clock },
    private readonly init: HostCommandHandlerInit,
  ) {}

  start(): Promise<void> {
    return Promise.resolve()
  }

  /** Stops waiting for running downloads (their outcome: SHUTTING_DOWN) and waits for commands under way. Safe to repeat. */
  async stop(): Promise<void> {
    this.stopped = true
    for (const { download } of this.running.values()) download.stop()
    await Promise.all([...this.pending])
  }

  /** Takes one command; answers through `channel`. Never throws. */
  handle(command: HostCommand, channel: CommandChannel): void {
    switch (command.$case) {
      case 'downloadTask':
        this.downloadTask(command.value, channel)
        return
      case 'cancelDownloadTask':
        this.cancel(command.value, channel)
        return
      case 'statTask':
        this.stat(command.value, channel)
        return
      case 'deleteTask':
        this.track(this.delete(command.value, channel))
        return
      default: {
        const unknown: never = command
        this.components.logger.warn({ scheduler: channel.scheduler, command: (unknown as { $case: string }).$case }, 'ignored an unknown host command')
      }
    }
  }

  /** The request ids of the download_task commands running now. */
  get runningRequestIds(): string[] {
    return [...this.running.keys()]
  }

  private downloadTask(value: DownloadTask, channel: CommandChannel): void {
    const { logger } = this.components
    let command: DownloadTaskCommand
    try {
      command = parseDownloadTask(value)
    } catch (error) {
      const failure = toDamselflyError(error)
      logger.warn({ scheduler: channel.scheduler, requestId: echoedRequestId(value.requestId), code: failure.code, reason: failure.message }, 'refused a download_task command')
      this.count('download_task', 'invalid')
      channel.reply({
        $case: 'downloadTaskOutcome',
        value: { requestId: echoedRequestId(value.requestId), taskId: '', success: false, code: failure.code, reason: failure.message, contentLength: 0, totalPieces: 0, costMs: 0 },
      })
      return
    }
    const { requestId } = command
    if (this.running.has(requestId) || this.finished.has(requestId)) {
      logger.info({ scheduler: channel.scheduler, requestId }, 'ignored a repeated download_task command')
      this.count('download_task', 'ignored')
      return
    }
    const download = new CommandDownload(
      {
        tasks: this.components.tasks,
        store: this.components.store,
        clock: this.components.clock,
        logger: logger.child({ requestId }),
        reply: (report) => {
          if (!channel.reply(report)) logger.debug({ scheduler: channel.scheduler, requestId, report: report.$case }, 'the command\'s stream ended; report dropped')
        },
      },
      { command, outputDir: this.init.outputDir },
    )
    if (this.stopped) download.stop()
    logger.info({ scheduler: channel.scheduler, requestId, url: redactedUrl(command.request.url), outputPath: command.outputPath || undefined }, 'running a download_task command')
    const done = download.run().then((outcome) => {
      this.running.delete(requestId)
      this.remember(requestId)
      this.count('download_task', outcome.success ? 'succeeded' : 'failed')
      if (outcome.success) logger.info({ requestId, taskId: outcome.taskId, costMs: outcome.costMs }, 'download_task succeeded')
      else logger.warn({ requestId, taskId: outcome.taskId, code: outcome.code, reason: outcome.reason }, 'download_task failed')
    })
    this.running.set(requestId, { download, done })
    this.track(done)
  }

  private cancel(value: CancelDownloadTask, channel: CommandChannel): void {
    const { logger } = this.components
    let requestId: string
    try {
      requestId = parseRequestId(value.requestId)
    } catch (error) {
      logger.warn({ scheduler: channel.scheduler, reason: toDamselflyError(error).message }, 'refused a cancel_download_task command')
      this.count('cancel_download_task', 'invalid')
      return
    }
    const entry = this.running.get(requestId)
    if (entry === undefined) {
      // Finished already (its outcome went out) or never known: nothing to stop.
      logger.info({ scheduler: channel.scheduler, requestId }, 'cancel of no running download_task ignored')
      this.count('cancel_download_task', 'ignored')
      return
    }
    logger.info({ scheduler: channel.scheduler, requestId, reason: value.reason.slice(0, 200) }, 'cancelling a download_task')
    entry.download.cancel(value.reason.slice(0, 200))
    this.count('cancel_download_task', 'succeeded')
  }

  private stat(value: StatTaskCommand, channel: CommandChannel): void {
    let requestId: string
    let taskId: TaskId
    try {
      requestId = parseRequestId(value.requestId)
      taskId = parseCommandTaskId(value.taskId)
    } catch (error) {
      this.components.logger.warn({ scheduler: channel.scheduler, requestId: echoedRequestId(value.requestId), reason: toDamselflyError(error).message }, 'refused a stat_task command')
      this.count('stat_task', 'invalid')
      // TaskStat carries no error: an unspecified state says the host could not tell.
      channel.reply({
        $case: 'taskStat',
        value: { requestId: echoedRequestId(value.requestId), taskId: value.taskId.slice(0, 64), state: TaskState.TASK_STATE_UNSPECIFIED, contentLength: 0, finishedPieces: 0, totalPieces: 0, createdAtMs: 0, updatedAtMs: 0 },
      })
      return
    }
    const { tasks, store } = this.components
    channel.reply({ $case: 'taskStat', value: taskStatOf(taskId, requestId, { store, isRunning: (id) => tasks.isRunning(id) }) })
    this.count('stat_task', 'succeeded')
  }

  private async delete(value: DeleteTaskCommand, channel: CommandChannel): Promise<void> {
    const { logger, tasks, store } = this.components
    const answer = (result: Omit<TaskDeleted, 'requestId' | 'taskId'>, requestId: string, taskId: string): void => {
      channel.reply({ $case: 'taskDeleted', value: { requestId, taskId, ...result } })
    }
    let requestId: string
    let taskId: TaskId
    try {
      requestId = parseRequestId(value.requestId)
      taskId = parseCommandTaskId(value.taskId)
    } catch (error) {
      const failure = toDamselflyError(error)
      logger.warn({ scheduler: channel.scheduler, requestId: echoedRequestId(value.requestId), reason: failure.message }, 'refused a delete_task command')
      this.count('delete_task', 'invalid')
      answer({ deleted: false, error: `${failure.code}: ${failure.message}` }, echoedRequestId(value.requestId), value.taskId.slice(0, 64))
      return
    }
    try {
      const aborted = await tasks.abort(taskId, 'the task is being deleted')
      if (store.get(taskId) === undefined) {
        logger.info({ scheduler: channel.scheduler, requestId, taskId, aborted }, 'delete_task: the task is not on this host')
        answer({ deleted: false, error: '' }, requestId, taskId)
        this.count('delete_task', 'succeeded')
        return
      }
      // As garbage collection evicts: metadata and content go together, and never while a reader holds the task.
      if (!(await store.delete(taskId))) {
        logger.warn({ scheduler: channel.scheduler, requestId, taskId }, 'delete_task: the task is in use')
        answer({ deleted: false, error: 'the task is in use on this host (being read or downloaded); try again when it is not' }, requestId, taskId)
        this.count('delete_task', 'failed')
        return
      }
      logger.info({ scheduler: channel.scheduler, requestId, taskId, aborted }, 'task deleted')
      answer({ deleted: true, error: '' }, requestId, taskId)
      this.count('delete_task', 'succeeded')
    } catch (error) {
      const failure = toDamselflyError(error, 'STORAGE_FAILED')
      logger.warn({ err: failure, requestId, taskId }, 'delete_task failed')
      answer({ deleted: false, error: `${failure.code}: ${failure.message.split('\n')[0] ?? ''}` }, requestId, taskId)
      this.count('delete_task', 'failed')
    }
  }

  private remember(requestId: string): void {
    this.finished.add(requestId)
    if (this.finished.size <= REMEMBERED_REQUEST_IDS) return
    const oldest = this.finished.values().next()
    if (oldest.done !== true) this.finished.delete(oldest.value)
  }

  /** Keeps a command's work until it settles, so stop() can wait for it; it never rejects (each logs its own failure). */
  private track(work: Promise<unknown>): void {
    const settled = work.catch((error: unknown) => {
      this.components.logger.error({ err: error }, 'host command failed unexpectedly')
    })
    this.pending.add(settled)
    void settled.finally(() => this.pending.delete(settled))
  }

  private count(command: HostCommandName, outcome: HostCommandOutcome): void {
    this.components.metrics.hostCommands.inc({ command, outcome })
  }
}

/** The URL for logs: without its query, which may hold signatures. */
function redactedUrl(url: string): string {
  const parsed = new URL(url)
  return `${parsed.origin}${parsed.pathname}`
}
