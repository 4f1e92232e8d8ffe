import { InProcessJobQueue } from './in-process-queue.js'
import { jobQueueContract } from './job-queue.contract.js'

jobQueueContract('in process', ({ handler, logger, concurrency }) =>
  Promise.resolve(new InProcessJobQueue({ handler, logger }, { concurrency, stopTimeoutMs: 5_000 })))
