import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { createRandom, deriveSeed, exponential, pick, sample, shuffle } from './random.js'

const TEST = { timeout: 5_000 }

function draws(seed: number, count: number): number[] {
  const random = createRandom(seed)
  return Array.from({ length: count }, () => random())
}

describe('seeded randomness', TEST, () => {
  it('repeats a sequence for a seed, and differs between neighbouring seeds', TEST, () => {
    assert.deepEqual(draws(5, 100), draws(5, 100))
    assert.notDeepEqual(draws(5, 100), draws(6, 100))
    assert.notEqual(deriveSeed(5, 1), deriveSeed(5, 2))
    assert.equal(deriveSeed(5, 1), deriveSeed(5, 1))
  })

  it('draws uniformly in [0, 1)', TEST, () => {
    const values = draws(11, 100_000)
    assert.ok(values.every((value) => value >= 0 && value < 1))
    const buckets = new Array<number>(10).fill(0)
    for (const value of values) buckets[Math.floor(value * 10)]!++
    assert.ok(buckets.every((count) => Math.abs(count - 10_000) < 500), `bucket counts ${buckets.join(' ')}`)
  })

  it('shuffles, samples and picks within the given items', TEST, () => {
    const random = createRandom(3)
    const items = Array.from({ length: 50 }, (_, index) => index)
    assert.deepEqual(shuffle(random, items.slice()).sort((a, b) => a - b), items)
    const taken = sample(random, items, 10)
    assert.equal(new Set(taken).size, 10)
    assert.ok(taken.every((item) => items.includes(item)))
    assert.equal(sample(random, items, 80).length, 50)
    assert.equal(pick(random, new Array<number>()), undefined)
    assert.ok(items.includes(pick(random, items)!))
  })

  it('draws exponential values with the given mean', TEST, () => {
    const random = createRandom(9)
    const mean = Array.from({ length: 50_000 }, () => exponential(random, 4)).reduce((sum, value) => sum + value, 0) / 50_000
    assert.ok(Math.abs(mean - 4) < 0.1, `mean ${mean}`)
  })
})
