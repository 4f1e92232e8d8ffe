import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { silentLogger } from '../common/logger.js'
import type { ClusterConfig } from '../protocol/generated/damselfly/manager/v1/manager.js'
import { ClusterSettings } from './cluster-settings.js'
import { WeightedEvaluator } from './evaluator.js'
import { download, Resources, seededRandom } from './resource-fixtures.js'
import { Scheduling } from './scheduling.js'

const TEST = { timeout: 5_000 }

function config(overrides: Partial<ClusterConfig> = {}): ClusterConfig {
  return { candidateParentLimit: 4, filterParentLimit: 15, seedPeerLoadLimit: 2000, peerLoadLimit: 200, blocklist: { applications: [], urls: [], tags: [] }, version: 1, ...overrides }
}

function setup(): { settings: ClusterSettings; resources: Resources; scheduling: Scheduling } {
  const settings = new ClusterSettings({ logger: silentLogger() }, { candidateParentLimit: 4, filterParentLimit: 15 })
  const resources = new Resources()
  const scheduling = new Scheduling(
    {
      evaluator: new WeightedEvaluator(),
      random: seededRandom(1),
      clock: resources.clock,
      connectedSeedHosts: () => resources.store.connectedSeedHosts(),
      logger: silentLogger(),
      blockReason: (d) => settings.blockReason(d),
    },
    {
      get candidateParentLimit() {
        return settings.candidateParentLimit
      },
      get filterParentLimit() {
        return settings.filterParentLimit
      },
      retryBackToSourceLimit: 4,
      retryLimit: 5,
      backToSourceCount: 200,
      seedWaitTimeoutMs: 0,
    },
  )
  return { settings, resources, scheduling }
}

describe('ClusterSettings', TEST, () => {
  it('changes the parent limits of the next decision, without a new Scheduling', () => {
    const { settings, resources: r, scheduling } = setup()
    for (let i = 0; i < 6; i++) r.peer(`parent-${i}`, r.host(`host-${i}`), { pieces: [0, 1] })
    const child = r.peer('child', r.host('child-host'))
    assert.equal(scheduling.findParents(child).length, 4)
    settings.apply(config({ candidateParentLimit: 2, version: 2 }))
    assert.equal(scheduling.findParents(child).length, 2)
    settings.apply(config({ candidateParentLimit: 6, filterParentLimit: 3, version: 3 }))
    assert.equal(scheduling.findParents(child).length, 3, 'only 3 sampled')
  })

  it('keeps the current limit when the manager sends one out of range', () => {
    const { settings } = setup()
    settings.apply(config({ candidateParentLimit: 0, filterParentLimit: 5000 }))
    assert.equal(settings.candidateParentLimit, 4)
    assert.equal(settings.filterParentLimit, 15)
  })

  const blocklist = { applications: ['nightly'], urls: ['^https://blocked\\.test/', '(['], tags: ['secret'] }
  const cases = [
    { name: 'an application', download: { application: 'nightly' }, reason: /application "nightly"/ },
    { name: 'a tag', download: { tag: 'secret' }, reason: /tag "secret"/ },
    { name: 'a URL', download: { url: 'https://blocked.test/a.iso' }, reason: /URLs matching/ },
    { name: 'nothing', download: { url: 'https://fine.test/blocked.test/', application: 'daily' }, reason: undefined },
  ]
  for (const { name, download: overrides, reason } of cases) {
    it(`blocklists by ${name}`, () => {
      const { settings } = setup()
      settings.apply(config({ blocklist }))
      const found = settings.blockReason(download(overrides))
      if (reason === undefined) assert.equal(found, undefined)
      else assert.match(found ?? '', reason)
    })
  }

  const priorities = [
    { name: 'priority 6 fetches from the source', download: { priority: 6 }, kind: 'back-to-source' },
    { name: 'priority 3 fetches from the source', download: { priority: 3 }, kind: 'back-to-source' },
    { name: 'priority 2 fails', download: { priority: 2 }, kind: 'failed' },
    { name: 'priority 1 fails', download: { priority: 1 }, kind: 'failed' },
    { name: 'back-to-source disabled fails', download: { disableBackToSource: true }, kind: 'failed' },
  ]
  for (const { name, download: overrides, kind } of priorities) {
    it(`never schedules a blocklisted download through peers: ${name}`, () => {
      const { settings, resources: r, scheduling } = setup()
      r.peer('parent', r.host('parent-host'), { pieces: [0], download: { application: 'nightly' } })
      settings.apply(config({ blocklist }))
      const decision = scheduling.schedule(r.peer('child', r.host('child-host'), { download: { application: 'nightly', ...overrides } }))
      assert.equal(decision.kind, kind)
      assert.ok('reason' in decision && /blocklists application "nightly"/.test(decision.reason), JSON.stringify(decision))
    })
  }
})
