import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { ManualClock } from '../../common/manual-clock.js'
import { ClustersRepository } from './clusters-repository.js'
import { createTestDatabase, TEST_DIALECTS, type TestDatabase } from './database-fixtures.js'
import { HostsRepository } from './hosts-repository.js'
import { SchedulersRepository } from './schedulers-repository.js'
import { SeedPeersRepository } from './seed-peers-repository.js'

const TIMEOUT_MS = 30_000

for (const dialect of TEST_DIALECTS) {
  describe(`members and hosts on ${dialect}`, { timeout: 60_000 }, () => {
    let test: TestDatabase
    const clock = new ManualClock(1_700_000_000_000)
    let clusterId = 0
    let otherClusterId = 0

    before(async () => {
      test = await createTestDatabase(dialect)
      const clusters = new ClustersRepository({ database: test.database, clock })
      clusterId = (await clusters.ensureDefault()).id
      otherClusterId = (await clusters.create({ name: 'east' })).id
    })
    after(async () => {
      await test.drop()
    })

    it('registers a scheduler once per cluster, hostname and address, refreshing its record', async () => {
      const schedulers = new SchedulersRepository({ database: test.database, clock })
      const first = await schedulers.register({ clusterId, hostname: 's1', ip: '10.0.0.1', port: 8002, idc: 'a', location: 'cn', features: ['schedule'], hostId: 'h1' })
      assert.equal(first.state, 'active')
      assert.deepEqual(first.features, ['schedule'])
      clock.advance(1_000)
      const again = await schedulers.register({ clusterId, hostname: 's1', ip: '10.0.0.1', port: 9002, idc: 'b', location: 'cn|zj', features: [], hostId: 'h1' })
      assert.equal(again.id, first.id, 'the same row')
      assert.equal(again.port, 9002)
      assert.equal(again.lastKeepaliveAtMs, clock.nowMs())
      await schedulers.register({ clusterId: otherClusterId, hostname: 's1', ip: '10.0.0.1', port: 8002, idc: '', location: '', features: [], hostId: 'h1' })
      assert.equal((await schedulers.list(clusterId)).length, 1)
      assert.equal((await schedulers.list()).length, 2, 'a member of two clusters is two rows')
    })

    it('leaves a silent scheduler out of the live list at once, and the sweep marks it inactive', async () => {
      const schedulers = new SchedulersRepository({ database: test.database, clock })
      await schedulers.register({ clusterId, hostname: 's2', ip: '10.0.0.2', port: 8002, idc: '', location: '', features: [], hostId: '' })
      clock.advance(20_000)
      assert.equal(await schedulers.keepAlive({ clusterId, hostname: 's2', ip: '10.0.0.2' }), true)
      assert.equal(await schedulers.keepAlive({ clusterId, hostname: 's2', ip: '10.0.0.2' }), true, 'a second keepalive in the same millisecond still finds the row')
      assert.equal(await schedulers.keepAlive({ clusterId, hostname: 'nobody', ip: '10.0.0.2' }), false)
      clock.advance(15_000)
      const alive = (await schedulers.listAlive(clusterId, TIMEOUT_MS)).map((s) => s.hostname)
      assert.deepEqual(alive, ['s2'], 's1 kept no keepalive for 36 s; s2 did 15 s ago')
      assert.equal((await schedulers.find({ clusterId, hostname: 's1', ip: '10.0.0.1' }))?.state, 'active', 'state lags until a sweep')
      assert.equal(await schedulers.sweep(TIMEOUT_MS), 2, 's1 in both clusters')
      assert.equal((await schedulers.find({ clusterId, hostname: 's1', ip: '10.0.0.1' }))?.state, 'inactive')
      assert.equal(await schedulers.sweep(TIMEOUT_MS), 0, 'a second sweep changes nothing')
      assert.equal(await schedulers.keepAlive({ clusterId, hostname: 's1', ip: '10.0.0.1' }), true)
      assert.equal((await schedulers.find({ clusterId, hostname: 's1', ip: '10.0.0.1' }))?.state, 'active', 'a keepalive revives it')
    })

    it('keeps seed peers apart from schedulers, with their type', async () => {
      const seeds = new SeedPeersRepository({ database: test.database, clock })
      const seed = await seeds.register({ clusterId, hostname: 's1', ip: '10.0.0.1', port: 65002, idc: '', location: '', type: 'strong', hostId: 'h9' })
      assert.equal(seed.type, 'strong')
      assert.deepEqual((await seeds.listAlive(clusterId, TIMEOUT_MS)).map((s) => s.id), [seed.id])
      assert.equal(await seeds.keepAlive({ clusterId, hostname: 's2', ip: '10.0.0.2' }), false, 'a scheduler is no seed peer')
    })

    it('records reported hosts by host id, the last report winning', async () => {
      const hosts = new HostsRepository({ database: test.database, clock })
      const host = { hostId: 'aa', hostname: 'n1', ip: '10.0.1.1', port: 65002, idc: '', location: '', version: '0.1.0', os: 'linux', type: 'normal' as const }
      await hosts.report(clusterId, [host, { ...host, hostId: 'bb', type: 'seed' }])
      clock.advance(60_000)
      await hosts.report(clusterId, [{ ...host, port: 65010 }])
      const all = await hosts.list(clusterId)
      assert.deepEqual(all.map((h) => [h.hostId, h.port, h.type]), [['aa', 65010, 'normal'], ['bb', 65002, 'seed']])
      assert.deepEqual((await hosts.list(clusterId, 30_000)).map((h) => h.hostId), ['aa'], 'bb was not reported for a minute')
    })
  })
}
