/**
 * The job queue of a manager alone: fastq runs at most `concurrency` handlers at once, a delayed
 * job waits on an unref'd timer. Nothing survives the process: after a restart the jobs still
 * unfinished in the database have to be queued again.
 */
import fastq from 'fastq'
import { systemClock, type Clock } from '../../common/clock.js'
import { MAX_TIMER_MS } from '../../common/config-schema.js'
import type { Logger } from '../../common/logger.js'
import { DamselflyError } from '../../protocol/damselfly-error.js'
import type { JobHandler, JobQueue } from './job-queue.js'

export interface InProcessJobQueueComponents {
  readonly handler: JobHandler
  readonly logger: Logger
  readonly clock?: Clock
}

export interface InProcessJobQueueInit {
  /** The most handlers running at once; 8 when absent. */
  readonly concurrency?: number
  /** How long `stop()` waits for aborted handlers to return; 10 s when absent. */
  readonly stopTimeoutMs?: number
}

export const IN_PROCESS_QUEUE_DEFAULTS = { concurrency: 8, stopTimeoutMs: 10_000 } as const

/** Where a job id stands; an id absent from the map is not queued. */
type Entry =
  | { readonly state: 'delayed'; timer: NodeJS.Timeout }
  | { readonly state: 'queued' }
  | { readonly state: 'running'; readonly controller: AbortController; readonly done: Promise<void> }

export class InProcessJobQueue implements JobQueue {
  private readonly entries = new Map<number, Entry>()
  private readonly clock: Clock
  private readonly concurrency: number
  private readonly stopTimeoutMs: number
  private readonly queue: fastq.queueAsPromised<number>
  private started = false
  private stopping: Promise<void> | undefined

  constructor(private readonly components: InProcessJobQueueComponents, init: InProcessJobQueueInit = {}) {
    this.clock = components.clock ?? systemClock
    this.concurrency = init.concurrency ?? IN_PROCESS_QUEUE_DEFAULTS.concurrency
    this.stopTimeoutMs = init.stopTimeoutMs ?? IN_PROCESS_QUEUE_DEFAULTS.stopTimeoutMs
    if (!Number.isInteger(this.concurrency) || this.concurrency < 1) {
      throw new DamselflyError('INVALID_ARGUMENT', `job queue concurrency must be a positive integer, got ${this.concurrency}`)
    }
    this.queue = fastq.promise((jobId: number) => this.run(jobId), this.concurrency)
    // Jobs queued before start() wait for it.
    this.queue.pause()
  }

  start(): Promise<void> {
    if (this.stopping !== undefined) return Promise.reject(new DamselflyError('SHUTTING_DOWN', 'the job queue was stopped'))
    this.started = true
    this.queue.resume()
    return Promise.resolve()
  }

  enqueue(jobId: number, runAt?: Date): Promise<void> {
    if (this.stopping !== undefined) return Promise.reject(new DamselflyError('SHUTTING_DOWN', 'the job queue is stopping'))
    if (!this.started) return Promise.reject(new DamselflyError('INTERNAL', 'the job queue is not started'))
    if (this.entries.has(jobId)) return Promise.resolve()
    const delayMs = runAt === undefined ? 0 : runAt.getTime() - this.clock.nowMs()
    if (delayMs > 0) this.delay(jobId, runAt ?? new Date(0))
    else this.push(jobId)
    return Promise.resolve()
  }

  remove(jobId: number): Promise<void> {
    const entry = this.entries.get(jobId)
    if (entry?.state === 'delayed') clearTimeout(entry.timer)
    // A queued id stays in fastq's list; run() finds it gone from the map and skips it.
    if (entry !== undefined && entry.state !== 'running') this.entries.delete(jobId)
    return Promise.resolve()
  }

  isRunningHere(jobId: number): boolean {
    return this.entries.get(jobId)?.state === 'running'
  }

  stop(): Promise<void> {
    this.stopping ??= this.shutdown()
    return this.stopping
  }

  private async shutdown(): Promise<void> {
    this.queue.kill()
    const running: Promise<void>[] = []
    for (const [jobId, entry] of this.entries) {
      if (entry.state === 'delayed') clearTimeout(entry.timer)
      if (entry.state === 'running') {
        entry.controller.abort(new DamselflyError('SHUTTING_DOWN', 'the manager is stopping'))
        running.push(entry.done)
      } else {
        this.entries.delete(jobId)
      }
    }
    if (running.length === 0) return
    let timer: NodeJS.Timeout | undefined
    const timedOut = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), this.stopTimeoutMs)))
    const late = await Promise.race([Promise.all(running).then(() => false), timedOut])
    clearTimeout(timer)
    if (late) this.components.logger.warn({ jobIds: [...this.entries.keys()], timeoutMs: this.stopTimeoutMs }, 'jobs still running at stop')
  }

  /** Arms a timer no longer than a Node timer holds; a far `runAt` takes several. */
  private delay(jobId: number, runAt: Date): void {
    const delayMs = Math.min(runAt.getTime() - this.clock.nowMs(), MAX_TIMER_MS)
    const timer = setTimeout(() => {
      if (this.entries.get(jobId)?.state !== 'delayed') return
      if (runAt.getTime() > this.clock.nowMs()) this.delay(jobId, runAt)
      else this.push(jobId)
    }, Math.max(delayMs, 0))
    // A job waiting for its time must not keep the process alive.
    timer.unref()
    this.entries.set(jobId, { state: 'delayed', timer })
  }

  private push(jobId: number): void {
    this.entries.set(jobId, { state: 'queued' })
    this.queue.push(jobId).catch((err: unknown) => {
      this.components.logger.error({ jobId, err }, 'job queue failed')
    })
  }

  private async run(jobId: number): Promise<void> {
    if (this.entries.get(jobId)?.state !== 'queued' || this.stopping !== undefined) return
    const controller = new AbortController()
    let finish = (): void => undefined
    const done = new Promise<void>((resolve) => (finish = resolve))
    // Running before the handler starts, so the handler itself sees isRunningHere().
    this.entries.set(jobId, { state: 'running', controller, done })
    try {
      await this.components.handler(jobId, controller.signal)
    } catch (err) {
      if (controller.signal.aborted) this.components.logger.info({ jobId, err }, 'job given up')
      else this.components.logger.error({ jobId, err }, 'job failed')
    } finally {
      this.entries.delete(jobId)
      finish()
    }
  }
}
