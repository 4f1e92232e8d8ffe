/**
 * The job queue of managers sharing a Redis: a BullMQ Queue and Worker on `damselfly-jobs`.
 * Every manager's worker takes jobs from the one list, so each job runs in one manager at a time.
 * A worker holds a job under a lock it renews every `lockDuration / 2`; when its manager dies
 * the lock expires, another manager's stalled check moves the job back to the list and a worker
 * runs it again (up to `maxStalledCount` times). A manager that stops hands its running jobs
 * back at once. Jobs live in Redis, so they outlast every manager's restart.
 */
import { Queue, WaitingError, Worker, type Job } from 'bullmq'
import { systemClock, type Clock } from '../../common/clock.js'
import type { Logger } from '../../common/logger.js'
import { DamselflyError } from '../../protocol/damselfly-error.js'
import { maskPassword } from '../db/database.js'
import type { JobHandler, JobQueue } from './job-queue.js'
import { parseRedisUrl } from './redis-url.js'

/** One queue for every kind of job: the handler reads the kind from the job's record. */
export const BULLMQ_QUEUE_NAME = 'damselfly-jobs'

export const BULLMQ_QUEUE_DEFAULTS = {
  prefix: 'damselfly',
  concurrency: 8,
  lockDurationMs: 30_000,
  maxStalledCount: 3,
  stopTimeoutMs: 10_000,
  connectTimeoutMs: 10_000,
} as const

export interface BullMqJobQueueComponents {
  readonly handler: JobHandler
  readonly logger: Logger
  readonly clock?: Clock
}

export interface BullMqJobQueueInit {
  /** `redis://[[user]:password@]host[:port][/db]`, or `rediss://` for TLS. */
  readonly url: string
  /** Namespaces the queue's Redis keys: managers that share work share the prefix. */
  readonly prefix?: string
  /** The most handlers running at once in this manager. */
  readonly concurrency?: number
  /** How long a job stays locked to this manager without a renewal: about how long a dead manager's jobs wait to be taken over. */
  readonly lockDurationMs?: number
  /** How often this manager looks for jobs whose lock expired; `lockDurationMs` when absent. */
  readonly stalledIntervalMs?: number
  /** How many times a job whose manager died is run again before it is given up. */
  readonly maxStalledCount?: number
  /** How long `stop()` waits for aborted handlers to return. */
  readonly stopTimeoutMs?: number
  /** How long `start()` waits for Redis to answer. */
  readonly connectTimeoutMs?: number
}

/** What a queued job carries: its id alone; the rest is in the database. */
interface JobData {
  readonly jobId: number
}

/** BullMQ refuses an id that reads as an integer, which could clash with its own counter. */
function bullJobId(jobId: number): string {
  return `job-${jobId}`
}

interface Running {
  readonly controller: AbortController
  readonly done: Promise<void>
}

export class BullMqJobQueue implements JobQueue {
  private readonly init: Required<BullMqJobQueueInit>
  private readonly clock: Clock
  private readonly logger: Logger
  private readonly running = new Map<number, Running>()
  private queue: Queue<JobData> | undefined
  private worker: Worker<JobData> | undefined
  private workerRun: Promise<void> | undefined
  private stopping: Promise<void> | undefined

  constructor(private readonly components: BullMqJobQueueComponents, init: BullMqJobQueueInit) {
    const lockDurationMs = init.lockDurationMs ?? BULLMQ_QUEUE_DEFAULTS.lockDurationMs
    this.init = {
      url: init.url,
      prefix: init.prefix ?? BULLMQ_QUEUE_DEFAULTS.prefix,
      concurrency: init.concurrency ?? BULLMQ_QUEUE_DEFAULTS.concurrency,
      lockDurationMs,
      stalledIntervalMs: init.stalledIntervalMs ?? lockDurationMs,
      maxStalledCount: init.maxStalledCount ?? BULLMQ_QUEUE_DEFAULTS.maxStalledCount,
      stopTimeoutMs: init.stopTimeoutMs ?? BULLMQ_QUEUE_DEFAULTS.stopTimeoutMs,
      connectTimeoutMs: init.connectTimeoutMs ?? BULLMQ_QUEUE_DEFAULTS.connectTimeoutMs,
    }
    if (!Number.isInteger(this.init.concurrency) || this.init.concurrency < 1) {
      throw new DamselflyError('INVALID_ARGUMENT', `job queue concurrency must be a positive integer, got ${this.init.concurrency}`)
    }
    this.clock = components.clock ?? systemClock
    this.logger = components.logger.child({ redis: maskPassword(init.url), prefix: this.init.prefix })
  }

  /** Connects to Redis and starts taking jobs; throws JOB_QUEUE_UNAVAILABLE when Redis does not answer in time. */
  async start(): Promise<void> {
    if (this.stopping !== undefined) throw new DamselflyError('SHUTTING_DOWN', 'the job queue was stopped')
    if (this.queue !== undefined) return
    const connection = parseRedisUrl(this.init.url)
    // Fails an enqueue at once while Redis is away, rather than holding the caller's request.
    const queue = new Queue<JobData>(BULLMQ_QUEUE_NAME, { connection: { ...connection, enableOfflineQueue: false }, prefix: this.init.prefix })
    const worker = new Worker<JobData>(BULLMQ_QUEUE_NAME, (job, token, signal) => this.process(job, token, signal), {
      // The worker blocks on Redis; BullMQ needs its commands to wait out a reconnect, not fail.
      connection: { ...connection, maxRetriesPerRequest: null },
      prefix: this.init.prefix,
      autorun: false,
      concurrency: this.init.concurrency,
      lockDuration: this.init.lockDurationMs,
      stalledInterval: this.init.stalledIntervalMs,
      maxStalledCount: this.init.maxStalledCount,
    })
    this.queue = queue
    this.worker = worker
    queue.on('error', (err) => this.logger.warn({ err }, 'job queue redis error'))
    worker.on('error', (err) => this.logger.warn({ err }, 'job worker error'))
    worker.on('stalled', (id) => this.logger.warn({ job: id }, 'job stalled: its manager stopped renewing the lock; running it again'))
    worker.on('failed', (job, err) => this.logger.error({ job: job?.id, err }, 'job given up by the queue'))
    // Another manager may run the job from now on: this one's handler should give it up.
    worker.on('lockRenewalFailed', (ids) => {
      for (const id of ids) this.runningByBullId(id)?.controller.abort(new DamselflyError('CANCELLED', 'the job\'s lock was lost'))
    })
    try {
      await this.withinConnectTimeout(Promise.all([queue.waitUntilReady(), worker.waitUntilReady()]))
    } catch (err) {
      this.stopping = this.closeConnections(true)
      await this.stopping
      throw new DamselflyError('JOB_QUEUE_UNAVAILABLE', `the job queue's Redis ${maskPassword(this.init.url)} did not answer`, { cause: err })
    }
    this.workerRun = worker.run().catch((err: unknown) => {
      this.logger.error({ err }, 'job worker stopped')
    })
    this.logger.info({ concurrency: this.init.concurrency, lockDurationMs: this.init.lockDurationMs }, 'job queue started')
  }

  async enqueue(jobId: number, runAt?: Date): Promise<void> {
    const queue = this.usableQueue()
    const delayMs = runAt === undefined ? 0 : Math.max(0, runAt.getTime() - this.clock.nowMs())
    try {
      // An id BullMQ holds already (waiting, delayed or active) is left as it is.
      await queue.add('job', { jobId }, {
        jobId: bullJobId(jobId),
        delay: delayMs,
        // A handler's failure is the job's outcome, written to its record: nothing to retry.
        attempts: 1,
        removeOnComplete: true,
        removeOnFail: true,
      })
    } catch (err) {
      throw new DamselflyError('JOB_QUEUE_UNAVAILABLE', `job ${jobId} could not be queued`, { cause: err })
    }
  }

  async remove(jobId: number): Promise<void> {
    const queue = this.usableQueue()
    try {
      // BullMQ leaves a job that a worker holds locked, running or not.
      await queue.remove(bullJobId(jobId))
    } catch (err) {
      throw new DamselflyError('JOB_QUEUE_UNAVAILABLE', `job ${jobId} could not be removed from the queue`, { cause: err })
    }
  }

  isRunningHere(jobId: number): boolean {
    return this.running.has(jobId)
  }

  stop(): Promise<void> {
    this.stopping ??= this.shutdown()
    return this.stopping
  }

  private usableQueue(): Queue<JobData> {
    if (this.stopping !== undefined) throw new DamselflyError('SHUTTING_DOWN', 'the job queue is stopping')
    if (this.queue === undefined) throw new DamselflyError('INTERNAL', 'the job queue is not started')
    return this.queue
  }

  private async shutdown(): Promise<void> {
    if (this.worker === undefined) return
    try {
      // Takes no more jobs; the ones running are aborted below rather than awaited here.
      await this.worker.pause(true)
    } catch (err) {
      this.logger.warn({ err }, 'job worker did not pause')
    }
    for (const { controller } of this.running.values()) controller.abort(new DamselflyError('SHUTTING_DOWN', 'the manager is stopping'))
    const late = !(await this.settlesWithin([...this.running.values()].map((run) => run.done), this.init.stopTimeoutMs))
    if (late) this.logger.warn({ jobIds: [...this.running.keys()], timeoutMs: this.init.stopTimeoutMs }, 'jobs still running at stop: their locks expire and other managers take them over')
    await this.closeConnections(late)
    await this.workerRun
    this.logger.info('job queue stopped')
  }

  private async closeConnections(force: boolean): Promise<void> {
    const results = await Promise.allSettled([this.worker?.close(force), this.queue?.close()])
    for (const result of results) {
      if (result.status === 'rejected') this.logger.warn({ err: result.reason as unknown }, 'job queue did not close cleanly')
    }
  }

  private async process(job: Job<JobData>, token: string | undefined, bullSignal: AbortSignal | undefined): Promise<void> {
    const jobId = job.data.jobId
    if (this.stopping !== undefined) return this.handBack(job, token)
    const controller = new AbortController()
    const onBullAbort = (): void => controller.abort(bullSignal?.reason)
    bullSignal?.addEventListener('abort', onBullAbort, { once: true })
    let finish = (): void => undefined
    this.running.set(jobId, { controller, done: new Promise<void>((resolve) => (finish = resolve)) })
    try {
      await this.components.handler(jobId, controller.signal)
    } catch (err) {
      if (controller.signal.aborted) this.logger.info({ jobId, err }, 'job given up')
      else this.logger.error({ jobId, err }, 'job failed')
    } finally {
      bullSignal?.removeEventListener('abort', onBullAbort)
      this.running.delete(jobId)
      finish()
    }
    if (controller.signal.aborted && this.stopping !== undefined) return this.handBack(job, token)
    return undefined
  }

  /** Puts a job this manager will not finish back on the list, for another manager or the next start. */
  private async handBack(job: Job<JobData>, token: string | undefined): Promise<never> {
    await job.moveToWait(token)
    this.logger.info({ jobId: job.data.jobId }, 'job handed back at stop')
    // Tells BullMQ the job has moved already: neither completed nor failed.
    throw new WaitingError()
  }

  private runningByBullId(id: string): Running | undefined {
    const jobId = Number(id.replace(/^job-/, ''))
    return this.running.get(jobId)
  }

  private async withinConnectTimeout(work: Promise<unknown>): Promise<void> {
    if (!(await this.settlesWithin([work], this.init.connectTimeoutMs))) throw new Error(`no answer within ${this.init.connectTimeoutMs} ms`)
    await work
  }

  /** Whether every promise settles within `timeoutMs`; never rejects. */
  private async settlesWithin(promises: readonly Promise<unknown>[], timeoutMs: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined
    const timedOut = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)))
    try {
      return await Promise.race([Promise.allSettled(promises).then(() => true), timedOut])
    } finally {
      clearTimeout(timer)
    }
  }
}
