/**
 * Picks the manager's job queue from its config: in process when `jobQueue.redis.url` is empty,
 * BullMQ on that Redis otherwise. The composition root calls it and owns start and stop.
 */
import type { Clock } from '../../common/clock.js'
import type { Logger } from '../../common/logger.js'
import type { ManagerConfig } from '../config.js'
import { BullMqJobQueue } from './bullmq-queue.js'
import { InProcessJobQueue } from './in-process-queue.js'
import type { JobHandler, JobQueue } from './job-queue.js'

export interface JobQueueComponents {
  readonly handler: JobHandler
  readonly logger: Logger
  readonly clock?: Clock
}

/** The queue the config names, not started. */
export function createJobQueue(components: JobQueueComponents, config: ManagerConfig['jobQueue']): JobQueue {
  const logger = components.logger.child({ component: 'job-queue' })
  const queueComponents = { handler: components.handler, logger, ...(components.clock === undefined ? {} : { clock: components.clock }) }
  if (config.redis.url === '') return new InProcessJobQueue(queueComponents, { concurrency: config.concurrency })
  return new BullMqJobQueue(queueComponents, {
    url: config.redis.url,
    prefix: config.redis.prefix,
    concurrency: config.concurrency,
    lockDurationMs: config.redis.lockDuration,
  })
}
