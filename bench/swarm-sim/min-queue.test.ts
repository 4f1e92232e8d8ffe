import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { createRandom, randomInt } from './random.js'
import { MinQueue } from './min-queue.js'

const TEST = { timeout: 5_000 }

describe('MinQueue', TEST, () => {
  it('pops by key, equal keys by id, growing past its first capacity', TEST, () => {
    const random = createRandom(12)
    const queue = new MinQueue()
    const entries = Array.from({ length: 500 }, (_, id) => ({ key: randomInt(random, 50), id }))
    for (const { key, id } of entries) queue.push(key, id)
    const popped: { key: number; id: number }[] = []
    while (queue.size > 0) {
      const key = queue.topKey
      popped.push({ key, id: queue.pop()! })
    }
    assert.deepEqual(popped, entries.slice().sort((a, b) => a.key - b.key || a.id - b.id))
    assert.equal(queue.pop(), undefined)
    assert.equal(queue.topKey, Infinity)
  })

  it('keeps its order across pushes between pops', TEST, () => {
    const queue = new MinQueue()
    queue.push(5, 1)
    queue.push(2, 2)
    assert.equal(queue.pop(), 2)
    queue.push(1, 3)
    queue.push(5, 0)
    assert.deepEqual([queue.pop(), queue.pop(), queue.pop()], [3, 0, 1])
    queue.push(4, 4)
    queue.clear()
    assert.equal(queue.size, 0)
  })
})
