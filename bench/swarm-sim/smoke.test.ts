import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { MIB } from '../../src/protocol/piece.js'
import { bittorrent } from './bittorrent.js'
import { damselfly } from './damselfly.js'
import { EventLoop } from './engine.js'
import { Network } from './network.js'
import { equalLinks, GBIT, type Scenario, type Swarm, type SwarmResult } from './scenario.js'
import { simulateApart, simulateJob, type SimulationJob } from './simulate.js'

/** CI's run of both swarms: small enough for a few seconds, large enough that peers trade. Never asserts a speed. */
const HOSTS = 50
const SIZE_BYTES = 16 * MIB
const SWARMS: readonly Swarm[] = [damselfly, bittorrent]

function smokeScenario(seed: number): Scenario {
  return equalLinks({ hosts: HOSTS, sizeBytes: SIZE_BYTES, rateBitsPerSecond: 1 * GBIT, seed })
}

async function run(swarm: Swarm, scenario: Scenario): Promise<SwarmResult> {
  const loop = new EventLoop()
  return swarm.run(scenario, loop, new Network(loop, { overhead: scenario.wireOverhead ?? 1 }))
}

for (const swarm of SWARMS) {
  describe(`swarm-sim smoke: ${swarm.name}`, { timeout: 60_000 }, () => {
    it('brings the file to every host, and the same seed gives the same run', { timeout: 60_000 }, async () => {
      const first = await run(swarm, smokeScenario(7))
      const downloaders = first.hosts.filter((host) => !host.seed)
      assert.equal(downloaders.length, HOSTS)
      for (const host of downloaders) {
        assert.notEqual(host.finishedAtMs, undefined, `host ${host.host} never finished`)
        assert.ok(host.downloadedBytes >= SIZE_BYTES, `host ${host.host} received ${host.downloadedBytes} bytes of ${SIZE_BYTES}`)
      }
      assert.ok(first.originEgressBytes + first.seedEgressBytes >= SIZE_BYTES, 'every byte left the origin or a seed at least once')
      assert.ok(downloaders.some((host) => host.uploadedBytes > 0), 'hosts traded pieces')
      const again = await run(swarm, smokeScenario(7))
      assert.deepEqual(again, first)
    })
  })
}

describe('swarm-sim: a run in a process of its own (--jobs)', { timeout: 60_000 }, () => {
  it('gives the result the same run gives in this process', { timeout: 60_000 }, async () => {
    const job: SimulationJob = {
      spec: { scenario: 'equal-links', hosts: 20, sizeBytes: 8 * MIB }, seed: 3, swarm: 'damselfly', schedulerSettings: {}, daemonSettings: {}, label: 'smoke apart',
    }
    const [here, apart] = await Promise.all([simulateJob(job), simulateApart(job)])
    assert.deepEqual(apart.result, here.result)
    await assert.rejects(simulateApart({ ...job, spec: { ...job.spec, scenario: 'no-such-scenario' as 'equal-links' } }), /smoke apart: the simulation's process ended without a result/)
  })
})
