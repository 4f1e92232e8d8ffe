import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { EventLoop } from './engine.js'

const TEST = { timeout: 5_000 }

describe('EventLoop', TEST, () => {
  it('runs events in time order, and events at the same time in the order they were scheduled', TEST, async () => {
    const loop = new EventLoop()
    const ran: string[] = []
    loop.at(20, () => ran.push('b@20'))
    loop.at(10, () => ran.push('a@10'))
    loop.at(20, () => ran.push('c@20'))
    loop.at(10, () => {
      ran.push('d@10')
      loop.after(0, () => ran.push('e@10, scheduled at 10'))
      loop.after(5, () => ran.push(`f@${loop.nowMs}`))
    })
    await loop.run()
    assert.deepEqual(ran, ['a@10', 'd@10', 'e@10, scheduled at 10', 'f@15', 'b@20', 'c@20'])
    assert.equal(loop.nowMs, 20)
    assert.equal(loop.eventsRun, 6)
  })

  it('runs no cancelled event, and ignores a second cancel', TEST, async () => {
    const loop = new EventLoop()
    const ran: number[] = []
    const timers = [1, 2, 3, 4, 5].map((atMs) => loop.at(atMs, () => ran.push(atMs)))
    loop.cancel(timers[1]!)
    loop.cancel(timers[3]!)
    loop.cancel(timers[3]!)
    loop.at(2.5, () => loop.cancel(timers[4]!))
    await loop.run()
    assert.deepEqual(ran, [1, 3])
    assert.equal(loop.pendingEvents, 0)
  })

  it('refuses a time in the past', TEST, async () => {
    const loop = new EventLoop()
    loop.at(10, () => undefined)
    await loop.run()
    assert.throws(() => loop.at(9, () => undefined), RangeError)
    assert.throws(() => loop.at(Number.NaN, () => undefined), RangeError)
  })

  it('stops at untilMs with the clock there, and carries on from it', TEST, async () => {
    const loop = new EventLoop()
    const ran: number[] = []
    for (const atMs of [5, 10, 15]) loop.at(atMs, () => ran.push(atMs))
    await loop.run({ untilMs: 12 })
    assert.deepEqual(ran, [5, 10])
    assert.equal(loop.nowMs, 12)
    await loop.run()
    assert.deepEqual(ran, [5, 10, 15])
  })

  it('returns after the event that called stop()', TEST, async () => {
    const loop = new EventLoop()
    const ran: number[] = []
    loop.at(1, () => ran.push(1))
    loop.at(2, () => {
      ran.push(2)
      loop.stop()
    })
    loop.at(3, () => ran.push(3))
    await loop.run()
    assert.deepEqual(ran, [1, 2])
    assert.equal(loop.nowMs, 2)
  })

  it("lets a sleeper's chain of awaits finish before time moves on", TEST, async () => {
    const loop = new EventLoop()
    const ran: string[] = []
    const sleeper = async (): Promise<void> => {
      await loop.clock.sleep(10)
      await Promise.resolve()
      await Promise.resolve()
      ran.push(`woke at ${loop.clock.nowMs()}`)
      loop.after(0, () => ran.push('scheduled by the sleeper'))
    }
    const done = sleeper()
    loop.at(10, () => ran.push('event at 10'))
    loop.at(10.5, () => ran.push('event at 10.5'))
    await loop.run()
    await done
    // The sleep's timer was scheduled first; the sleeper wakes before the next event at the same time runs.
    assert.deepEqual(ran, ['woke at 10', 'event at 10', 'scheduled by the sleeper', 'event at 10.5'])
  })

  it('rejects a sleep whose signal aborts, and never runs its timer', TEST, async () => {
    const loop = new EventLoop()
    const controller = new AbortController()
    const outcome = loop.clock.sleep(100, controller.signal).then(
      () => 'resolved',
      (error: unknown) => (error instanceof Error ? error.message : 'rejected'),
    )
    loop.at(30, () => controller.abort(new Error('aborted at 30')))
    await loop.run()
    assert.equal(await outcome, 'aborted at 30')
    assert.equal(loop.nowMs, 30, 'the sleep left no event behind')
    await assert.rejects(loop.clock.sleep(1, controller.signal), /aborted at 30/)
  })

  it('runs events that settle nothing without yielding to the macrotask queue', TEST, async () => {
    const loop = new EventLoop()
    let macrotaskRan = false
    const seenBeforeMacrotask: number[] = []
    for (let atMs = 1; atMs <= 1000; atMs++) {
      loop.at(atMs, () => {
        if (atMs === 1) setImmediate(() => (macrotaskRan = true))
        if (!macrotaskRan) seenBeforeMacrotask.push(atMs)
      })
    }
    await loop.run()
    assert.equal(seenBeforeMacrotask.length, 1000)
    await new Promise(setImmediate)
    assert.equal(macrotaskRan, true)
  })

  it('yields after an event that asked to settle', TEST, async () => {
    const loop = new EventLoop()
    const ran: string[] = []
    const answer = async (): Promise<string> => {
      await Promise.resolve()
      return 'answer'
    }
    loop.at(1, () => {
      loop.settle()
      void answer().then((value) => loop.after(0, () => ran.push(`${value} at ${loop.nowMs}`)))
    })
    loop.at(2, () => ran.push('event at 2'))
    await loop.run()
    assert.deepEqual(ran, ['answer at 1', 'event at 2'])
  })
})
