import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { FairShare } from './fair-share.js'

const TEST = { timeout: 5_000 }

describe('FairShare', TEST, () => {
  it('splits a link evenly, then gives a removed flow\'s share to the flows left', TEST, () => {
    const table = new FairShare()
    const up = table.addLink(12)
    const downs = [table.addLink(100), table.addLink(100), table.addLink(100)]
    const slots = downs.map((down) => table.addFlow(up, down))
    assert.deepEqual(slots.map((slot) => table.rateOf(slot)), [0, 0, 0], 'no rate before an allocation')
    table.allocate()
    assert.deepEqual(slots.map((slot) => table.rateOf(slot)), [4, 4, 4])
    // Removing the first flow moves the last into its place in both lists; removing that one next must still find it.
    table.removeFlow(slots[0]!)
    table.removeFlow(slots[2]!)
    table.allocate()
    assert.equal(table.rateOf(slots[1]!), 12)
  })

  it('lists the flows whose rate an allocation changed, a new flow and a reused slot included', TEST, () => {
    const table = new FairShare()
    const up = table.addLink(12)
    const [left, right, other] = [table.addLink(100), table.addLink(100), table.addLink(3)]
    const first = table.addFlow(up, left)
    const second = table.addFlow(up, right)
    const apart = table.addFlow(table.addLink(50), other)
    table.allocate()
    assert.deepEqual([...table.changedSlots()].sort(), [first, second, apart].sort())
    table.allocate()
    assert.deepEqual([...table.changedSlots()], [], 'nothing changed, nothing listed')
    table.removeFlow(first)
    const reused = table.addFlow(up, left)
    assert.equal(reused, first)
    table.allocate()
    // The reused slot starts from 0 and gets 6 again: a new flow, listed; its neighbour kept 6, not listed.
    assert.deepEqual([...table.changedSlots()], [reused])
    table.removeFlow(reused)
    table.allocate()
    assert.deepEqual([...table.changedSlots()], [second])
    assert.equal(table.rateOf(second), 12)
  })

  it('reuses the slots of removed flows and keeps their links apart', TEST, () => {
    const table = new FairShare()
    const [a, b, c] = [table.addLink(10), table.addLink(4), table.addLink(100)]
    const first = table.addFlow(a, b)
    table.removeFlow(first)
    const second = table.addFlow(a, c)
    assert.equal(second, first)
    const third = table.addFlow(a, b)
    table.allocate()
    // Link b (4) fixes the third flow at 4; link a's 6 left go to the second.
    assert.deepEqual([table.rateOf(second), table.rateOf(third)], [6, 4])
  })

  it('fills many links exactly: every link with a flow at its limit is full, and no flow exceeds a link', TEST, () => {
    const table = new FairShare()
    const links = Array.from({ length: 40 }, (_, index) => table.addLink(1 + (index % 7)))
    const flows: { slot: number; up: number; down: number }[] = []
    for (let index = 0; index < 120; index++) {
      const up = links[(index * 7) % 20]!
      const down = links[20 + ((index * 11) % 20)]!
      flows.push({ slot: table.addFlow(up, down), up, down })
    }
    table.allocate()
    const load = new Map<number, number>()
    for (const { slot, up, down } of flows) {
      load.set(up, (load.get(up) ?? 0) + table.rateOf(slot))
      load.set(down, (load.get(down) ?? 0) + table.rateOf(slot))
    }
    for (const link of links) assert.ok((load.get(link) ?? 0) <= 1 + (link % 7) + 1e-9, `link ${link} carries ${load.get(link)}`)
    // Max-min: each flow is held by a full link on which no flow is faster.
    for (const { slot, up, down } of flows) {
      const held = [up, down].some((link) => {
        const full = Math.abs((load.get(link) ?? 0) - (1 + (link % 7))) < 1e-9
        return full && flows.every((other) => (other.up !== link && other.down !== link) || table.rateOf(other.slot) <= table.rateOf(slot) + 1e-9)
      })
      assert.ok(held, `flow in slot ${slot} has a bottleneck`)
    }
  })
})
