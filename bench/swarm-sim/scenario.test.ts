import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { MIB } from '../../src/protocol/piece.js'
import { lowerBoundMs } from './lower-bound.js'
import { EventLoop } from './engine.js'
import { scheduleMembership } from './membership.js'
import { Network } from './network.js'
import { equalLinks, GBIT, heterogeneousLinks, imageLayers, leavingHosts, networkOptionsFor, quantumPieceBytes, slowTail, spreadArrivals, testbedLike, TESTBED_WIRE_OVERHEAD, type Scenario } from './scenario.js'

const TEST = { timeout: 5_000 }
const GIB = 1024 * MIB

const BUILDERS: readonly { name: string; build: (seed: number) => Scenario }[] = [
  { name: 'equal links', build: (seed) => equalLinks({ hosts: 100, sizeBytes: 256 * MIB, rateBitsPerSecond: GBIT, seed }) },
  { name: 'heterogeneous links', build: (seed) => heterogeneousLinks({ hosts: 100, sizeBytes: 256 * MIB, seed }) },
  { name: 'slow tail', build: (seed) => slowTail({ hosts: 100, sizeBytes: 256 * MIB, rateBitsPerSecond: GBIT, seed }) },
  { name: 'spread arrivals', build: (seed) => spreadArrivals({ hosts: 100, sizeBytes: 256 * MIB, rateBitsPerSecond: GBIT, seed }) },
  { name: 'leaving hosts', build: (seed) => leavingHosts({ hosts: 100, sizeBytes: 256 * MIB, rateBitsPerSecond: GBIT, seed }) },
  { name: 'image layers', build: (seed) => imageLayers({ hosts: 100, sizeBytes: 3 * GIB, rateBitsPerSecond: GBIT, seed }) },
  { name: 'testbed-like', build: (seed) => testbedLike({ hosts: 16, sizeBytes: 64 * MIB, rate: '100mbit', seed }) },
]

describe('scenario builders', TEST, () => {
  for (const { name, build } of BUILDERS) {
    it(`${name}: the same seed gives the same scenario; one seed peer, then the hosts, ids unique`, TEST, () => {
      const scenario = build(42)
      assert.deepEqual(build(42), scenario)
      const ids = [scenario.origin.id, ...scenario.hosts.map((host) => host.id)]
      assert.equal(new Set(ids).size, ids.length)
      assert.deepEqual(scenario.hosts.map((host) => host.seed).filter(Boolean), [true])
      assert.equal(scenario.hosts[0]?.seed, true)
    })
  }

  it('draws the random aspects from the seed', TEST, () => {
    for (const { name, build } of BUILDERS.filter((each) => ['heterogeneous links', 'slow tail', 'spread arrivals', 'leaving hosts', 'image layers'].includes(each.name))) {
      assert.notDeepEqual(build(1), build(2), name)
    }
  })

  it('mixes 1, 10 and 25 Gbit/s hosts in equal shares', TEST, () => {
    const scenario = heterogeneousLinks({ hosts: 99, sizeBytes: GIB })
    const counts = new Map<number, number>()
    for (const host of scenario.hosts.filter((each) => !each.seed)) counts.set(host.links.upBytesPerMs, (counts.get(host.links.upBytesPerMs) ?? 0) + 1)
    assert.deepEqual([...counts.entries()].sort(([a], [b]) => a - b), [[125_000, 33], [1_250_000, 33], [3_125_000, 33]])
  })

  it('puts a tenth of the hosts at a tenth of the rate in the slow tail', TEST, () => {
    const rates = slowTail({ hosts: 200, sizeBytes: GIB, rateBitsPerSecond: GBIT }).hosts.filter((host) => !host.seed).map((host) => host.links.downBytesPerMs)
    assert.equal(rates.filter((rate) => rate === 12_500).length, 20)
    assert.equal(rates.filter((rate) => rate === 125_000).length, 180)
  })

  it('spreads arrivals over 30 s', TEST, () => {
    const arrivals = spreadArrivals({ hosts: 500, sizeBytes: GIB, rateBitsPerSecond: GBIT }).hosts.filter((host) => !host.seed).map((host) => host.arriveAtMs)
    assert.ok(arrivals.every((atMs) => atMs >= 0 && atMs < 30_000))
    assert.ok(Math.min(...arrivals) < 1000 && Math.max(...arrivals) > 29_000)
  })

  it('has 5% of the hosts leave before any schedule could have finished them', TEST, () => {
    const scenario = leavingHosts({ hosts: 400, sizeBytes: GIB, rateBitsPerSecond: GBIT })
    const leaving = scenario.hosts.filter((host) => host.leaveAtMs !== undefined)
    assert.equal(leaving.length, 20)
    assert.ok(leaving.every((host) => !host.seed && host.leaveAtMs! > host.arriveAtMs && host.leaveAtMs! < lowerBoundMs(scenario)))
  })

  it('splits an image into 10 layers that add up to its size, each with its own piece length', TEST, () => {
    const { tasks } = imageLayers({ hosts: 10, sizeBytes: 3 * GIB, rateBitsPerSecond: GBIT })
    assert.equal(tasks.length, 10)
    assert.equal(tasks.reduce((sum, task) => sum + task.sizeBytes, 0), 3 * GIB)
    assert.equal(new Set(tasks.map((task) => task.id)).size, 10)
    assert.ok(new Set(tasks.map((task) => task.sizeBytes)).size > 1, 'layers differ in size')
    assert.ok(tasks.every((task) => task.pieceLengthBytes >= MIB))
  })

  it('sets the network quantum by the smallest whole piece, not a layer shorter than one piece', TEST, () => {
    const layers = imageLayers({ hosts: 10, sizeBytes: 256 * MIB, rateBitsPerSecond: GBIT })
    const shortest = Math.min(...layers.tasks.map((task) => task.sizeBytes))
    assert.ok(shortest < MIB, `seed 1 draws a layer shorter than a piece (${shortest} bytes)`)
    // 1 MiB on 1 Gbit/s (125,000 bytes per ms), a sixteenth of it.
    assert.equal(networkOptionsFor(layers).recomputeQuantumMs, MIB / 125_000 / 16)
    assert.equal(networkOptionsFor(equalLinks({ hosts: 10, sizeBytes: 256 * MIB, rateBitsPerSecond: GBIT })).recomputeQuantumMs, MIB / 125_000 / 16)
    assert.equal(quantumPieceBytes([{ id: 'a', sizeBytes: 100, pieceLengthBytes: MIB }, { id: 'b', sizeBytes: 300, pieceLengthBytes: MIB }]), 300)
    assert.equal(quantumPieceBytes([{ id: 'a', sizeBytes: 100, pieceLengthBytes: MIB }, { id: 'b', sizeBytes: 64 * MIB, pieceLengthBytes: 4 * MIB }]), 4 * MIB)
  })

  it('models the testbed: one rate everywhere, the seed beside the origin, 1 MiB pieces for 64 MiB, frame overhead', TEST, () => {
    const scenario = testbedLike({ hosts: 8, sizeBytes: 64 * MIB, rate: '100mbit' })
    assert.equal(scenario.seedBesideOrigin, true)
    assert.equal(scenario.wireOverhead, TESTBED_WIRE_OVERHEAD)
    assert.deepEqual(scenario.tasks.map((task) => [task.sizeBytes, task.pieceLengthBytes]), [[64 * MIB, MIB]])
    assert.equal(scenario.hosts.length, 9)
    assert.ok([scenario.origin, ...scenario.hosts].every((host) => host.links.upBytesPerMs === 12_500 && host.links.downBytesPerMs === 12_500))
    assert.equal(equalLinks({ hosts: 2, sizeBytes: 3 * GIB, rateBitsPerSecond: GBIT }).tasks[0]?.pieceLengthBytes, 8 * MIB)
  })

  it('puts hosts on the network as they arrive and takes the leaving ones off, telling the swarm first', TEST, async () => {
    const scenario = leavingHosts({ hosts: 40, sizeBytes: GIB, rateBitsPerSecond: GBIT, leavingShare: 0.1 })
    const loop = new EventLoop()
    const network = new Network(loop)
    const seen: string[] = []
    scheduleMembership(scenario, loop, network, {
      arrive: (host) => seen.push(`arrive ${host.id} ${network.hasHost(host.id)}`),
      leave: (host) => seen.push(`leave ${host.id} ${network.hasHost(host.id)}`),
    })
    assert.equal(network.hasHost(scenario.origin.id), true)
    await loop.run()
    assert.equal(seen.filter((line) => line.startsWith('arrive') && line.endsWith('true')).length, 41)
    assert.equal(seen.filter((line) => line.startsWith('leave') && line.endsWith('true')).length, 4)
    assert.equal(scenario.hosts.filter((host) => network.hasHost(host.id)).length, 37)
  })
})
