import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { seededRandom } from './resource-fixtures.js'
import { SlotList } from './slot-list.js'

const TEST = { timeout: 5_000 }

interface Item {
  readonly name: string
  slot: number
}

const item = (name: string): Item => ({ name, slot: -1 })
const names = (items: readonly Item[]): string[] => items.map((one) => one.name)

/** The partial Fisher-Yates shuffle of a real copy, as a sample was drawn before SlotList. */
function sampleOfCopy<T>(items: readonly T[], count: number, random: () => number): T[] {
  const pool = [...items]
  const size = Math.min(count, pool.length)
  for (let i = 0; i < size; i++) {
    const j = i + Math.floor(random() * (pool.length - i))
    const picked = pool[j] as T
    pool[j] = pool[i] as T
    pool[i] = picked
  }
  return pool.slice(0, size)
}

describe('SlotList', TEST, () => {
  it('removes any item at once, the last item taking its place, and adds each item once', TEST, () => {
    const list = new SlotList<'slot', Item>('slot')
    const [a, b, c, d] = ['a', 'b', 'c', 'd'].map(item) as [Item, Item, Item, Item]
    for (const one of [a, b, c, d, b]) list.add(one)
    assert.deepEqual(names(list.all), ['a', 'b', 'c', 'd'])
    list.remove(b)
    assert.deepEqual(names(list.all), ['a', 'd', 'c'])
    assert.equal(b.slot, -1)
    list.remove(b)
    list.remove(c)
    assert.deepEqual(names(list.all), ['a', 'd'])
    assert.deepEqual([a.slot, d.slot], [0, 1])
  })

  it('draws what a shuffle of a copy without `except` draws, for the same random numbers', TEST, () => {
    const list = new SlotList<'slot', Item>('slot')
    const items = Array.from({ length: 40 }, (_, i) => item(`p${i}`))
    for (const one of items) list.add(one)
    for (const [count, except] of [[15, items[0]], [15, items[39]], [15, items[17]], [50, items[3]], [5, undefined]] as const) {
      const without = items.filter((one) => one !== except)
      assert.deepEqual(names(list.sample(count, seededRandom(count), except)), names(sampleOfCopy(without, count, seededRandom(count))), `${count} leaving out ${except?.name}`)
    }
  })

  it('draws every item about as often as any other', TEST, () => {
    const list = new SlotList<'slot', Item>('slot')
    const items = Array.from({ length: 20 }, (_, i) => item(`p${i}`))
    for (const one of items) list.add(one)
    const random = seededRandom(3)
    const counts = new Map<string, number>()
    for (let round = 0; round < 4_000; round++) {
      for (const one of list.sample(5, random, items[0])) counts.set(one.name, (counts.get(one.name) ?? 0) + 1)
    }
    assert.equal(counts.has('p0'), false)
    for (const one of items.slice(1)) assert.ok(Math.abs((counts.get(one.name) ?? 0) - 4_000 * 5 / 19) < 150, `${one.name}: ${counts.get(one.name)}`)
  })
})
