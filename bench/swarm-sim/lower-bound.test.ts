import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { hostLowerBoundMs, lowerBoundMs, lowerBoundTerms } from './lower-bound.js'
import { equalLinks, symmetricLinks, type Scenario, type SimHost } from './scenario.js'

const TEST = { timeout: 5_000 }
const MIB = 1024 * 1024

function host(id: number, upBytesPerMs: number, extra: Partial<SimHost> = {}): SimHost {
  return { id, links: { upBytesPerMs, downBytesPerMs: upBytesPerMs, latencyMs: 0 }, arriveAtMs: 0, seed: false, ...extra }
}

function run(hosts: SimHost[], originUpBytesPerMs: number, seedBesideOrigin = false): Scenario {
  return {
    name: 'bound',
    seed: 1,
    origin: { id: 0, links: { upBytesPerMs: originUpBytesPerMs, downBytesPerMs: originUpBytesPerMs, latencyMs: 0 } },
    hosts,
    tasks: [{ id: 'a', sizeBytes: 1000, pieceLengthBytes: 100 }, { id: 'b', sizeBytes: 3000, pieceLengthBytes: 100 }],
    seedBesideOrigin,
  }
}

describe('lower bound', TEST, () => {
  it('matches the testbed formula for equal links', TEST, () => {
    // 16 x 256 MiB at 100 Mbit/s (12.5 MB/s): the testbed's 21.5 s and 20.2 s, with the seed peer on a link of its own here.
    const scenario = equalLinks({ hosts: 16, sizeBytes: 256 * MIB, rateBitsPerSecond: 100e6, seedPeers: 0 })
    const terms = lowerBoundTerms(scenario)
    assert.equal(Math.round(terms.originUploadMs / 100), 215)
    assert.equal(Math.round(terms.hostDownloadMs / 100), 215)
    assert.equal(Math.round(terms.aggregateUploadMs / 100), 202)
    assert.equal(terms.boundMs, terms.originUploadMs)
  })

  it('takes the aggregate term when the origin is fast and the hosts many', TEST, () => {
    const hosts = Array.from({ length: 10 }, (_, index) => host(index + 1, 10))
    // S/u_origin = 10, S/d_min = 100, N·S/(u_origin + Σu) = 10·1000/(100 + 100) = 50: the download term binds.
    assert.deepEqual(lowerBoundTerms(run(hosts, 100), { id: 'a', sizeBytes: 1000, pieceLengthBytes: 100 }), { boundMs: 100, originUploadMs: 10, hostDownloadMs: 100, aggregateUploadMs: 50 })
    // Slow uplinks: Σu = 10 · 1 = 10, d stays 10 → 10·1000/110 ≈ 90.9 < 100; with d = 100 the aggregate binds.
    const fastDown = Array.from({ length: 10 }, (_, index) => ({ ...host(index + 1, 1), links: { upBytesPerMs: 1, downBytesPerMs: 100, latencyMs: 0 } }))
    assert.equal(lowerBoundMs(run(fastDown, 100), { id: 'a', sizeBytes: 1000, pieceLengthBytes: 100 }), 10_000 / 110)
  })

  it('counts only finishing hosts in N and d_min, leaves out a seed beside the origin, and adds arrivals', TEST, () => {
    const hosts = [
      host(1, 5, { seed: true }),
      host(2, 10),
      host(3, 10, { arriveAtMs: 50 }),
      host(4, 1, { leaveAtMs: 20 }),
    ]
    const task = { id: 'a', sizeBytes: 1000, pieceLengthBytes: 100 }
    // N = 2 (hosts 2 and 3); Σu = 5 + 10 + 10 + 1 with the seed on its own link, 21 beside the origin.
    assert.equal(lowerBoundTerms(run(hosts, 20), task).aggregateUploadMs, 2000 / 46)
    assert.equal(lowerBoundTerms(run(hosts, 20, true), task).aggregateUploadMs, 2000 / 41)
    // Host 4 (d = 1) leaves, so d_min is 10; host 3 arrives at 50: 50 + 100.
    assert.equal(lowerBoundTerms(run(hosts, 20), task).hostDownloadMs, 150)
    assert.equal(lowerBoundMs(run(hosts, 20), task), 150)
    assert.equal(hostLowerBoundMs(run(hosts, 20), hosts[1]!, task), 100)
    assert.equal(hostLowerBoundMs(run(hosts, 5), hosts[1]!, task), 200, 'no host beats the origin')
  })

  it('bounds the whole content when no task is named', TEST, () => {
    const scenario = run([host(1, 10)], 1000)
    assert.equal(lowerBoundMs(scenario), 400)
    assert.equal(lowerBoundMs(scenario, scenario.tasks[0]), 100)
  })

  it('reads link rates as the builders write them', TEST, () => {
    assert.deepEqual(symmetricLinks(8e6, 2), { upBytesPerMs: 1000, downBytesPerMs: 1000, latencyMs: 2 })
  })
})
