import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { SerialQueue } from './serial-queue.js'

const TEST = { timeout: 5_000 }

void describe('SerialQueue', () => {
  it('runs one operation at a time, in the order handed over', TEST, async () => {
    const queue = new SerialQueue()
    const order: string[] = []
    let underWay = 0
    let mostUnderWay = 0
    const step = (name: string, turns: number) => queue.run(async () => {
      mostUnderWay = Math.max(mostUnderWay, ++underWay)
      for (let turn = 0; turn < turns; turn++) await new Promise((resolve) => setImmediate(resolve))
      order.push(name)
      underWay--
      return name
    })
    assert.deepEqual(await Promise.all([step('a', 3), step('b', 1), step('c', 2)]), ['a', 'b', 'c'])
    assert.deepEqual(order, ['a', 'b', 'c'])
    assert.equal(mostUnderWay, 1)
  })

  it('gives a failure to its own caller only, and goes on with the next operation', TEST, async () => {
    const queue = new SerialQueue()
    const failed = queue.run(() => Promise.reject(new Error('disk on fire')))
    const next = queue.run(() => Promise.resolve('next'))
    await assert.rejects(failed, /disk on fire/)
    assert.equal(await next, 'next')
    await queue.idle()
  })

  it('is idle only once everything handed over has settled', TEST, async () => {
    const queue = new SerialQueue()
    let done = false
    void queue.run(async () => {
      await new Promise((resolve) => setTimeout(resolve, 20))
      done = true
    })
    await queue.idle()
    assert.equal(done, true)
  })
})
