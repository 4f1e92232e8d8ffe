// A manager's job queue alone in a process, for the take-over test: it queues one job, writes
// `started <id>` to a file when its handler starts, and then holds the job until it is killed.
// usage: node --import tsx test/support/bullmq-job-queue-child.ts
// env: REDIS_URL, PREFIX, JOB_ID, STARTED_FILE, LOCK_DURATION_MS
import { writeFileSync } from 'node:fs'
import { silentLogger } from '../../src/common/logger.js'
import { BullMqJobQueue } from '../../src/manager/jobs/bullmq-queue.js'

function required(name: string): string {
  const value = process.env[name]
  if (value === undefined || value === '') throw new Error(`${name} is not set`)
  return value
}

const startedFile = required('STARTED_FILE')
const queue = new BullMqJobQueue(
  {
    handler: async (jobId) => {
      writeFileSync(startedFile, `started ${jobId}\n`)
      // Never returns: the test kills this process while the job is held.
      await new Promise<never>(() => undefined)
    },
    logger: silentLogger(),
  },
  { url: required('REDIS_URL'), prefix: required('PREFIX'), concurrency: 1, lockDurationMs: Number(required('LOCK_DURATION_MS')) },
)
await queue.start()
await queue.enqueue(Number(required('JOB_ID')))
