import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { silentLogger } from '../../common/logger.js'
import { isDamselflyError } from '../../protocol/damselfly-error.js'
import { resolveManagerConfig } from '../config.js'
import { BullMqJobQueue } from './bullmq-queue.js'
import { createJobQueue } from './create-job-queue.js'
import { InProcessJobQueue } from './in-process-queue.js'

const components = { handler: () => Promise.resolve(), logger: silentLogger() }

describe('createJobQueue', () => {
  it('runs jobs in process by default, eight at a time, with BullMQ\'s keys under `damselfly` once a Redis is named', () => {
    const config = resolveManagerConfig({})
    assert.deepEqual(config.jobQueue, { concurrency: 8, redis: { url: '', prefix: 'damselfly', lockDuration: 30_000 } })
    assert.ok(createJobQueue(components, config.jobQueue) instanceof InProcessJobQueue)
  })

  it('shares jobs on the Redis the environment names', () => {
    const config = resolveManagerConfig({ env: { MANAGER_JOB_QUEUE_REDIS_URL: 'redis://:pw@127.0.0.1:6379/1', MANAGER_JOB_QUEUE_REDIS_LOCK_DURATION: '5s', MANAGER_JOB_QUEUE_CONCURRENCY: '2' } })
    assert.deepEqual(config.jobQueue, { concurrency: 2, redis: { url: 'redis://:pw@127.0.0.1:6379/1', prefix: 'damselfly', lockDuration: 5_000 } })
    assert.ok(createJobQueue(components, config.jobQueue) instanceof BullMqJobQueue)
  })

  const invalid = [
    { flags: { jobQueue: { redis: { url: 'http://:hunter2@127.0.0.1:6379' } } }, key: 'jobQueue.redis.url' },
    { flags: { jobQueue: { redis: { lockDuration: '500ms' } } }, key: 'jobQueue.redis.lockDuration' },
    { flags: { jobQueue: { redis: { prefix: 'a*' } } }, key: 'jobQueue.redis.prefix' },
    { flags: { jobQueue: { concurrency: 0 } }, key: 'jobQueue.concurrency' },
  ]
  for (const { flags, key } of invalid) {
    it(`refuses a bad ${key}, naming it`, () => {
      assert.throws(() => resolveManagerConfig({ flags }), (err) =>
        isDamselflyError(err) && err.code === 'CONFIG_INVALID' && err.message.includes(key) && !err.message.includes('hunter2'))
    })
  }
})
