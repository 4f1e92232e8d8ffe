import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { SourceSlots } from './source-slots.js'

const TEST = { timeout: 5_000 }
const ORIGIN = 'https://registry.example:443'

describe('SourceSlots', TEST, () => {
  it('grants up to the limit at once, then in the order asked as slots are released', TEST, () => {
    const slots = new SourceSlots({ limit: 2 })
    const granted: string[] = []
    const releases = new Map<string, () => void>()
    for (const name of ['a', 'b', 'c', 'd']) {
      slots.request(ORIGIN, (release) => {
        granted.push(name)
        releases.set(name, release)
      })
    }
    assert.deepEqual(granted, ['a', 'b'])
    releases.get('b')?.()
    releases.get('b')?.()
    assert.deepEqual(granted, ['a', 'b', 'c'], 'a second release of one slot frees nothing more')
    releases.get('a')?.()
    assert.deepEqual(granted, ['a', 'b', 'c', 'd'])
    assert.equal(slots.activeCount(ORIGIN), 2)
  })

  it('takes downloads in turns: one that releases and asks again waits behind the others', TEST, () => {
    const slots = new SourceSlots({ limit: 1 })
    const order: string[] = []
    const run = (name: string, runs: number): void => {
      if (runs === 0) return
      slots.request(ORIGIN, (release) => {
        order.push(name)
        queueMicrotask(() => {
          release()
          run(name, runs - 1)
        })
      })
    }
    run('layer-1', 3)
    run('layer-2', 3)
    return new Promise<void>((resolve) => {
      setImmediate(() => {
        assert.deepEqual(order, ['layer-1', 'layer-2', 'layer-1', 'layer-2', 'layer-1', 'layer-2'])
        resolve()
      })
    })
  })

  it('drops a waiting request that is cancelled or whose signal aborts', TEST, async () => {
    const slots = new SourceSlots({ limit: 1 })
    const first = await slots.acquire(ORIGIN, new AbortController().signal)
    const controller = new AbortController()
    const waiting = slots.acquire(ORIGIN, controller.signal)
    let cancelledRan = false
    const cancel = slots.request(ORIGIN, () => {
      cancelledRan = true
    })
    cancel()
    controller.abort(new Error('download stopped'))
    await assert.rejects(waiting, /download stopped/)
    first()
    assert.equal(cancelledRan, false)
    assert.equal(slots.activeCount(ORIGIN), 0)
    await assert.rejects(slots.acquire(ORIGIN, AbortSignal.abort(new Error('already stopped'))), /already stopped/)
    const again = await slots.acquire(ORIGIN, new AbortController().signal)
    assert.equal(slots.activeCount(ORIGIN), 1)
    again()
  })

  it('gives each origin slots of its own: a stalled origin holds up no fetch from another', TEST, async () => {
    const slots = new SourceSlots({ limit: 2 })
    const stalled = 'http://trickle.example:8080'
    // Slots a peer made the seed spend on an origin that never answers, and one more waiting there.
    await slots.acquire(stalled, new AbortController().signal)
    await slots.acquire(stalled, new AbortController().signal)
    const third = new AbortController()
    const queued = slots.acquire(stalled, third.signal)
    assert.equal(slots.activeCount(stalled), 2)
    const release = await slots.acquire(ORIGIN, new AbortController().signal)
    assert.equal(slots.activeCount(ORIGIN), 1)
    release()
    assert.equal(slots.activeCount(ORIGIN), 0)
    third.abort(new Error('stopped'))
    await assert.rejects(queued, /stopped/)
  })
})
