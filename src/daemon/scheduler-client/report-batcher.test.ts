import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { ManualClock } from '../../common/manual-clock.js'
import { ReportBatcher } from './report-batcher.js'

const TEST = { timeout: 5_000 }

/** Lets every queued promise callback run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve()
}

function batcher(init: { flushDelayMs: number; maxCount: number }): { clock: ManualClock; sent: number[][]; reports: ReportBatcher<number> } {
  const clock = new ManualClock()
  const sent: number[][] = []
  return { clock, sent, reports: new ReportBatcher<number>({ clock, send: (batch) => sent.push(batch) }, init) }
}

describe('ReportBatcher', TEST, () => {
  it('sends what gathered once the delay after the first report is over, in order', TEST, async () => {
    const { clock, sent, reports } = batcher({ flushDelayMs: 5, maxCount: 32 })
    reports.add(1)
    clock.advance(3)
    reports.add(2)
    await settle()
    assert.deepEqual(sent, [], 'the delay runs from the first report waiting')
    clock.advance(2)
    await settle()
    assert.deepEqual(sent, [[1, 2]])
    assert.equal(reports.size, 0)
    reports.add(3)
    clock.advance(5)
    await settle()
    assert.deepEqual(sent, [[1, 2], [3]], 'the next report starts a new delay')
  })

  it('sends at once when the count is reached, and the delay starts over with the next report', TEST, async () => {
    const { clock, sent, reports } = batcher({ flushDelayMs: 5, maxCount: 3 })
    for (const report of [1, 2, 3, 4]) reports.add(report)
    assert.deepEqual(sent, [[1, 2, 3]])
    assert.equal(clock.sleeping, 1, 'only the timer of the report left waiting')
    clock.advance(5)
    await settle()
    assert.deepEqual(sent, [[1, 2, 3], [4]])
  })

  it('sends on flush, stops the timer, and sends nothing when nothing waits', TEST, async () => {
    const { clock, sent, reports } = batcher({ flushDelayMs: 5, maxCount: 32 })
    reports.flush()
    assert.deepEqual(sent, [])
    reports.add(1)
    reports.add(2)
    reports.flush()
    reports.flush()
    assert.deepEqual(sent, [[1, 2]])
    await settle()
    assert.equal(clock.sleeping, 0)
    clock.advance(10)
    await settle()
    assert.deepEqual(sent, [[1, 2]], 'the stopped timer sends nothing later')
  })

  it('sends every report on its own with a count of 1', TEST, () => {
    const { sent, reports } = batcher({ flushDelayMs: 5, maxCount: 1 })
    reports.add(1)
    reports.add(2)
    assert.deepEqual(sent, [[1], [2]])
  })
})
