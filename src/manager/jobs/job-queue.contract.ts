/**
 * What every {@link JobQueue} promises, run once per implementation: each job runs once, a
 * delayed job not before its time, a failed job is not retried, `stop()` aborts and waits,
 * concurrency holds.
 */
import assert from 'node:assert/strict'
import { afterEach, describe, it } from 'node:test'
import type { Logger } from '../../common/logger.js'
import { isDamselflyError } from '../../protocol/damselfly-error.js'
import { Gate, RecordingHandler, recordingLogger, waitUntil } from './job-queue-fixtures.js'
import type { JobHandler, JobQueue } from './job-queue.js'

/** What a contract case gives the implementation under test; the queue it returns is not started. */
export interface OpenJobQueueOptions {
  readonly handler: JobHandler
  readonly logger: Logger
  readonly concurrency: number
}

const TIMEOUT = { timeout: 30_000 }
/** Short, so the suite stays quick, yet long enough that running at once would be seen. */
const DELAY_MS = 400

export function jobQueueContract(name: string, open: (options: OpenJobQueueOptions) => Promise<JobQueue>): void {
  describe(`JobQueue: ${name}`, () => {
    const opened: JobQueue[] = []
    const start = async (recorder: RecordingHandler, concurrency = 4, logger = recordingLogger().logger): Promise<JobQueue> => {
      const queue = await open({ handler: recorder.handler, logger, concurrency })
      opened.push(queue)
      await queue.start()
      return queue
    }

    afterEach(async () => {
      await Promise.all(opened.splice(0).map((queue) => queue.stop()))
    })

    it('runs a job once, now when runAt is absent or past, and says it runs here only while it does', TIMEOUT, async () => {
      const recorder = new RecordingHandler()
      const queue = await start(recorder)
      const seenRunning: boolean[] = []
      recorder.script(1, () => {
        seenRunning.push(queue.isRunningHere(1))
        return Promise.resolve()
      })
      await queue.enqueue(1)
      await queue.enqueue(2, new Date(Date.now() - 60_000))
      await waitUntil(() => recorder.finished(1) && recorder.finished(2), 'jobs 1 and 2 ran')
      // A third job run after them gives a second run of either the time to show.
      await queue.enqueue(3)
      await waitUntil(() => recorder.finished(3), 'job 3 ran')
      assert.equal(recorder.runsOf(1).length, 1)
      assert.equal(recorder.runsOf(2).length, 1)
      assert.deepEqual(seenRunning, [true])
      assert.equal(queue.isRunningHere(1), false)
    })

    it('runs once a job queued again while queued or running, and again once it has run', TIMEOUT, async () => {
      const recorder = new RecordingHandler()
      const queue = await start(recorder, 1)
      const gate = new Gate()
      recorder.script(1, () => gate.opened)
      await queue.enqueue(1)
      await waitUntil(() => recorder.runsOf(1).length === 1, 'job 1 started')
      await queue.enqueue(2)
      await queue.enqueue(2)
      await queue.enqueue(1)
      gate.open()
      await waitUntil(() => recorder.finished(1) && recorder.finished(2), 'jobs 1 and 2 ran')
      await queue.enqueue(3)
      await waitUntil(() => recorder.finished(3), 'job 3 ran')
      assert.equal(recorder.runsOf(1).length, 1)
      assert.equal(recorder.runsOf(2).length, 1)
      await queue.enqueue(1)
      await waitUntil(() => recorder.finished(1, 2), 'job 1 ran a second time')
    })

    it('runs a delayed job not before runAt, and not at all when removed before then', TIMEOUT, async () => {
      const recorder = new RecordingHandler()
      const queue = await start(recorder)
      const runAt = new Date(Date.now() + DELAY_MS)
      await queue.enqueue(1, runAt)
      await queue.enqueue(2, runAt)
      await queue.remove(2)
      // Job 3 comes after job 2's time: once it has run, job 2 would have too.
      await queue.enqueue(3, new Date(runAt.getTime() + DELAY_MS))
      await waitUntil(() => recorder.finished(1) && recorder.finished(3), 'jobs 1 and 3 ran')
      const [run] = recorder.runsOf(1)
      assert.ok(run !== undefined && run.startedAtMs >= runAt.getTime(), `job 1 started ${run === undefined ? '?' : runAt.getTime() - run.startedAtMs} ms early`)
      assert.equal(recorder.runsOf(2).length, 0)
      await queue.remove(2)
      await queue.remove(99)
    })

    it('logs a handler that throws with its job id, does not retry it, and keeps running jobs', TIMEOUT, async () => {
      const recorder = new RecordingHandler()
      const { logger, lines } = recordingLogger()
      const queue = await start(recorder, 1, logger)
      recorder.script(1, () => Promise.reject(new Error('the origin is gone')))
      await queue.enqueue(1)
      await queue.enqueue(2)
      await waitUntil(() => recorder.finished(1) && recorder.finished(2), 'jobs 1 and 2 ran')
      await queue.enqueue(3)
      await waitUntil(() => recorder.finished(3), 'job 3 ran')
      assert.equal(recorder.runsOf(1).length, 1)
      const failure = lines.find((line) => line['jobId'] === 1 && line['level'] === 50)
      assert.ok(failure !== undefined, 'the failure is logged at error')
      assert.match(JSON.stringify(failure['err']), /the origin is gone/)
      // A failed id is not stuck: queued again, it runs again.
      await queue.enqueue(1)
      await waitUntil(() => recorder.finished(1, 2), 'job 1 ran a second time')
    })

    it('stop() aborts the signal of a running handler and waits for it to return, then refuses jobs', TIMEOUT, async () => {
      const recorder = new RecordingHandler()
      const queue = await start(recorder)
      recorder.script(1, (_jobId, signal) => new Promise((resolve) => {
        // Returns a moment after the abort, as a handler tidying up would.
        signal.addEventListener('abort', () => setTimeout(resolve, 100), { once: true })
      }))
      await queue.enqueue(1)
      await queue.enqueue(2, new Date(Date.now() + 60_000))
      await waitUntil(() => queue.isRunningHere(1), 'job 1 runs')
      await queue.stop()
      const [run] = recorder.runsOf(1)
      assert.equal(run?.signal.aborted, true)
      assert.notEqual(run.endedAtMs, undefined, 'stop() returned before the handler did')
      assert.equal(queue.isRunningHere(1), false)
      await queue.stop()
      await assert.rejects(queue.enqueue(3), (err) => isDamselflyError(err) && err.code === 'SHUTTING_DOWN')
      assert.equal(recorder.runsOf(2).length, 0)
    })

    it('runs at most `concurrency` handlers at once', TIMEOUT, async () => {
      const recorder = new RecordingHandler()
      const queue = await start(recorder, 2)
      const gates = new Map<number, Gate>()
      const jobIds = [1, 2, 3, 4, 5]
      for (const jobId of jobIds) {
        const gate = new Gate()
        gates.set(jobId, gate)
        recorder.script(jobId, () => gate.opened)
        await queue.enqueue(jobId)
      }
      await waitUntil(() => recorder.runs.length === 2, 'two jobs started')
      // Lets the jobs go one at a time, oldest first: each release makes room for one more.
      for (let released = 0; released < jobIds.length; released += 1) {
        await waitUntil(() => recorder.runs.length >= Math.min(released + 2, jobIds.length), `${released + 2} jobs started`)
        const next = recorder.runs[released]
        assert.ok(next !== undefined)
        gates.get(next.jobId)?.open()
        await waitUntil(() => next.endedAtMs !== undefined, `job ${next.jobId} ended`)
      }
      assert.equal(recorder.maxRunning, 2)
      assert.deepEqual(recorder.runs.map((run) => run.jobId).sort(), jobIds)
    })
  })
}
