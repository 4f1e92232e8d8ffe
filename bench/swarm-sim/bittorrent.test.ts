import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { MIB } from '../../src/protocol/piece.js'
import { bittorrent } from './bittorrent.js'
import { EventLoop } from './engine.js'
import { Network } from './network.js'
import { equalLinks, GBIT, imageLayers, leavingHosts, networkOptionsFor, testbedLike, type Scenario } from './scenario.js'
import type { SwarmResult } from './scenario.js'

const TEST = { timeout: 20_000 }

async function run(scenario: Scenario): Promise<SwarmResult> {
  const loop = new EventLoop()
  return bittorrent.run(scenario, loop, new Network(loop, networkOptionsFor(scenario)))
}

function contentBytes(scenario: Scenario): number {
  return scenario.tasks.reduce((sum, task) => sum + task.sizeBytes, 0)
}

describe('BitTorrent baseline', TEST, () => {
  it('delivers the file to every host, from the seeder and from each other', TEST, async () => {
    const scenario = equalLinks({ hosts: 20, sizeBytes: 32 * MIB, rateBitsPerSecond: GBIT, seed: 3 })
    const result = await run(scenario)
    const downloaders = result.hosts.filter((host) => !host.seed)
    assert.equal(downloaders.length, 20)
    for (const host of downloaders) {
      assert.ok(host.finishedAtMs !== undefined && host.finishedAtMs > 0, `host ${host.host} finished`)
      assert.ok(host.downloadedBytes >= contentBytes(scenario), `host ${host.host} received the whole file`)
      assert.equal(host.left, false)
      assert.equal(host.fromOriginBytes, 0, 'no web seed')
    }
    const seeder = result.hosts.find((host) => host.seed)!
    assert.equal(seeder.finishedAtMs, 0, 'the seeder holds the file from the start')
    assert.equal(result.seedEgressBytes, seeder.uploadedBytes)
    assert.ok(result.seedEgressBytes >= contentBytes(scenario), 'every piece left the seeder at least once')
    assert.ok(result.seedEgressBytes < 5 * contentBytes(scenario), 'the hosts trade among themselves')
    assert.equal(result.originEgressBytes, 0)
    const uploaded = result.hosts.reduce((sum, host) => sum + host.uploadedBytes, 0)
    const downloaded = result.hosts.reduce((sum, host) => sum + host.downloadedBytes, 0)
    assert.ok(Math.abs(uploaded - downloaded) < 1, `${uploaded} sent, ${downloaded} received`)
    assert.equal(result.simulatedMs, Math.max(...downloaders.map((host) => host.finishedAtMs!)), 'the run ends with the last host')
    assert.equal(result.schedulerDecisions, 0)
    assert.ok(result.events > 0)
  })

  it('gives identical results for a seed, and different ones for another', TEST, async () => {
    const build = (seed: number): Scenario => equalLinks({ hosts: 20, sizeBytes: 16 * MIB, rateBitsPerSecond: GBIT, seed })
    const first = await run(build(5))
    assert.deepEqual(await run(build(5)), first)
    assert.notDeepEqual(await run(build(6)), first)
  })

  it('finishes every host that stays when some leave mid-download', TEST, async () => {
    const scenario = leavingHosts({ hosts: 40, sizeBytes: 16 * MIB, rateBitsPerSecond: GBIT, leavingShare: 0.1 })
    const result = await run(scenario)
    const leaving = new Set(scenario.hosts.filter((host) => host.leaveAtMs !== undefined).map((host) => host.id))
    assert.equal(leaving.size, 4)
    for (const host of result.hosts.filter((each) => !each.seed)) {
      if (leaving.has(host.host)) assert.deepEqual([host.left, host.finishedAtMs], [true, undefined])
      else assert.ok(host.finishedAtMs !== undefined, `host ${host.host} finished`)
    }
  })

  it('fetches every layer of an image, and finishes near the bound on the testbed\'s links', TEST, async () => {
    const layers = imageLayers({ hosts: 10, sizeBytes: 64 * MIB, rateBitsPerSecond: GBIT, layers: 5 })
    const result = await run(layers)
    assert.ok(result.hosts.every((host) => host.finishedAtMs !== undefined && host.downloadedBytes >= (host.seed ? 0 : 64 * MIB)))

    const testbed = testbedLike({ hosts: 4, sizeBytes: 16 * MIB, rate: '100mbit' })
    const onTestbed = await run(testbed)
    const lastMs = Math.max(...onTestbed.hosts.map((host) => host.finishedAtMs!))
    // 16 MiB over a 100 Mbit/s origin link can leave the seeder no sooner than 1.34 s; a swarm of 4 needs not many times that.
    assert.ok(lastMs > 1342 && lastMs < 4 * 1342, `last host at ${lastMs} ms`)
  })
})
