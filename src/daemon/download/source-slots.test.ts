import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { SourceSlots } from './source-slots.js'

const TEST = { timeout: 5_000 }

describe('SourceSlots', TEST, () => {
  it('grants up to the limit at once, then in the order asked as slots are released', TEST, () => {
    const slots = new SourceSlots({ limit: 2 })
    const granted: string[] = []
    const releases = new Map<string, () => void>()
    for (const name of ['a', 'b', 'c', 'd']) {
      slots.request((release) => {
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
    assert.equal(slots.activeCount, 2)
  })

  it('takes downloads in turns: one that releases and asks again waits behind the others', TEST, () => {
    const slots = new SourceSlots({ limit: 1 })
    const order: string[] = []
    const run = (name: string, runs: number): void => {
      if (runs === 0) return
      slots.request((release) => {
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
    const first = await slots.acquire(new AbortController().signal)
    const controller = new AbortController()
    const waiting = slots.acquire(controller.signal)
    let cancelledRan = false
    const cancel = slots.request(() => {
      cancelledRan = true
    })
    cancel()
    controller.abort(new Error('download stopped'))
    await assert.rejects(waiting, /download stopped/)
    first()
    assert.equal(cancelledRan, false)
    assert.equal(slots.activeCount, 0)
    await assert.rejects(slots.acquire(AbortSignal.abort(new Error('already stopped'))), /already stopped/)
    const again = await slots.acquire(new AbortController().signal)
    assert.equal(slots.activeCount, 1)
    again()
  })
})
