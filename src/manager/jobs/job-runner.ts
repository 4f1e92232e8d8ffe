import type { Logger } from '../../common/logger.js'
import { DamselflyError, isDamselflyError, toDamselflyError } from '../../protocol/damselfly-error.js'
import type { Job, JobsRepository } from '../db/jobs-repository.js'
import type { ManagerMetrics } from '../manager-metrics.js'
import { downloadSpecOf } from './job-args.js'
import type { JobSecrets } from './job-secrets.js'
import type { DownloadJob } from './download-job.js'
import type { TaskJob } from './task-job.js'

/** How often a running job looks for a stop request, which any manager may have recorded. */
export const STOP_POLL_MS = 1_000

/**
 * Runs one job to its end, whichever type: the queue's handler. A stop request or the job's
 * timeout fails it, and every host download not finished with it; a manager shutting down
 * leaves it unfinished, for another manager (BullMQ) or this one's next start to take over.
 */
export class JobRunner {
  constructor(
    private readonly components: {
      jobs: JobsRepository
      secrets: JobSecrets
      downloads: DownloadJob
      tasks: TaskJob
      metrics: ManagerMetrics
      logger: Logger
    },
    private readonly init: { stopPollMs: number } = { stopPollMs: STOP_POLL_MS },
  ) {}

  /** The queue's handler: `shutdown` aborts when this manager stops. */
  async run(jobId: number, shutdown: AbortSignal): Promise<void> {
    const found = await this.components.jobs.get(jobId)
    // Deleted, or ended (stopped before it started) while it waited in the queue.
    if (found === undefined || found.phase === 'done') return
    const job = await this.components.jobs.markRunning(jobId)
    const logger = this.components.logger.child({ jobId, type: job.type })
    logger.info({ run: job.runCount }, 'job started')
    const running = this.components.metrics.jobsRunning.labels({ type: job.type })
    running.inc()
    const controller = new AbortController()
    const stopWatch = this.watchForStop(job, controller, logger)
    const deadline = this.deadlineOf(job, controller)
    const onShutdown = (): void => controller.abort(new DamselflyError('SHUTTING_DOWN', 'the manager is stopping'))
    shutdown.addEventListener('abort', onShutdown, { once: true })
    try {
      const outcome = await this.execute(job, controller.signal)
      await this.components.jobs.finish(jobId, outcome)
      this.components.metrics.jobsFinished.inc({ type: job.type, state: outcome.state })
      logger.info({ state: outcome.state, error: outcome.error }, 'job finished')
    } catch (error) {
      const reason = controller.signal.aborted && isDamselflyError(controller.signal.reason) ? controller.signal.reason : toDamselflyError(error)
      if (reason.code === 'SHUTTING_DOWN') {
        logger.info('job left unfinished: the manager is stopping; it runs again where the queue hands it')
        return
      }
      await this.components.jobs.failUnfinishedHosts(jobId, reason.code, reason.message)
      await this.components.jobs.finish(jobId, { state: 'FAILURE', error: reason.message })
      this.components.metrics.jobsFinished.inc({ type: job.type, state: 'FAILURE' })
      if (reason.code === 'INTERNAL') logger.error({ err: error }, 'job failed')
      else logger.info({ code: reason.code, reason: reason.message }, 'job failed')
    } finally {
      running.dec()
      shutdown.removeEventListener('abort', onShutdown)
      clearInterval(stopWatch)
      clearTimeout(deadline)
    }
  }

  private async execute(job: Job, signal: AbortSignal): Promise<{ state: 'SUCCESS' | 'FAILURE'; error?: string; result?: unknown }> {
    switch (job.type) {
      case 'preheat':
      case 'distribution':
        return this.components.downloads.run(job, await this.components.secrets.open(job.sealedSecrets), signal)
      case 'get_task':
      case 'delete_task':
        return this.components.tasks.run(job, await this.components.secrets.open(job.sealedSecrets), signal)
    }
  }

  private watchForStop(job: Job, controller: AbortController, logger: Logger): NodeJS.Timeout {
    const timer = setInterval(() => {
      this.components.jobs.get(job.id).then((current) => {
        if (current === undefined) controller.abort(new DamselflyError('CANCELLED', `job ${job.id} was deleted`))
        else if (current.stopRequestedBy !== undefined) controller.abort(new DamselflyError('CANCELLED', `stopped by ${current.stopRequestedBy}`))
      }).catch((error: unknown) => logger.warn({ err: error }, 'could not read the job for a stop request; trying again'))
    }, this.init.stopPollMs)
    timer.unref()
    return timer
  }

  private deadlineOf(job: Job, controller: AbortController): NodeJS.Timeout | undefined {
    if (job.type !== 'preheat' && job.type !== 'distribution') return undefined
    const { timeoutMs } = downloadSpecOf(job.type, job.args)
    if (timeoutMs === undefined) return undefined
    const timer = setTimeout(() => controller.abort(new DamselflyError('TIMEOUT', `the job did not finish within ${timeoutMs / 1000} s`)), timeoutMs)
    timer.unref()
    return timer
  }
}
