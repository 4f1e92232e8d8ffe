import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { clusterScopesSchema, type Cluster, type ClusterScopes } from '../db/clusters-repository.js'
import { cidrContains, rankClusters, scopeScore } from './cluster-search.js'

const TEST = { timeout: 5_000 }

function cluster(id: number, scopes: Partial<ClusterScopes>, isDefault = false): Cluster {
  return { id, name: `c${id}`, bio: '', scopes: clusterScopesSchema.parse(scopes), config: {} as Cluster['config'], isDefault, createdAtMs: 0, updatedAtMs: 0 }
}

const HOST = { hostname: 'node-7.rack-a.example', ip: '10.1.2.3', idc: 'idc-east', location: 'cn|zhejiang|hangzhou' }

describe('cidrContains', TEST, () => {
  const cases = [
    ['10.0.0.0/8', '10.1.2.3', true],
    ['10.1.2.0/24', '10.1.3.1', false],
    ['0.0.0.0/0', '192.168.1.1', true],
    ['10.1.2.3', '10.1.2.3', true],
    ['10.1.2.3/32', '10.1.2.4', false],
    ['fd00::/8', 'fd12:3456::1', true],
    ['fd00::/8', 'fe80::1', false],
    ['2001:db8::/32', '2001:db8:0:1::7', true],
    ['10.0.0.0/8', 'fd00::1', false],
    ['10.0.0.0/33', '10.0.0.1', false],
    ['not-a-cidr', '10.0.0.1', false],
    ['10.0.0.0/8', 'not-an-ip', false],
  ] as const
  for (const [cidr, ip, expected] of cases) {
    it(`${cidr} ${expected ? 'holds' : 'does not hold'} ${ip}`, () => {
      assert.equal(cidrContains(cidr, ip), expected)
    })
  }
})

describe('scopeScore and rankClusters', TEST, () => {
  const cases: Array<{ name: string; scopes: Partial<ClusterScopes>; score: number }> = [
    { name: 'no scopes', scopes: {}, score: 0 },
    { name: 'a CIDR holding the address', scopes: { cidrs: ['10.0.0.0/8'] }, score: 0.3 },
    { name: 'a CIDR not holding it', scopes: { cidrs: ['192.168.0.0/16'] }, score: 0 },
    { name: 'a hostname regex that matches', scopes: { hostnames: ['^node-\\d+\\.rack-a'] }, score: 0.3 },
    { name: 'a broken hostname regex', scopes: { hostnames: ['(['] }, score: 0 },
    { name: 'the IDC among several', scopes: { idc: 'idc-west|idc-east' }, score: 0.15 },
    { name: 'another IDC', scopes: { idc: 'idc-west' }, score: 0 },
    { name: 'the whole location', scopes: { location: 'cn|zhejiang|hangzhou' }, score: 0.14 * 3 / 5 },
    { name: 'the location\'s first element', scopes: { location: 'cn|jiangsu' }, score: 0.14 / 5 },
    { name: 'everything', scopes: { cidrs: ['10.1.0.0/16'], hostnames: ['rack-a'], idc: 'idc-east', location: 'cn|zhejiang' }, score: 0.3 + 0.3 + 0.15 + 0.14 * 2 / 5 },
  ]
  for (const { name, scopes, score } of cases) {
    it(`scores ${name} ${score.toFixed(3)}`, () => {
      assert.ok(Math.abs(scopeScore(clusterScopesSchema.parse(scopes), false, HOST) - score) < 1e-9)
    })
  }

  it('ranks the best match first, and the default cluster first among equals', () => {
    const byDefault = cluster(1, {}, true)
    const byIdc = cluster(2, { idc: 'idc-east' })
    const byCidr = cluster(3, { cidrs: ['10.0.0.0/8'] })
    const unrelated = cluster(4, { idc: 'idc-west' })
    assert.deepEqual(rankClusters([byDefault, byIdc, byCidr, unrelated], HOST).map((c) => c.id), [3, 2, 1, 4])
    assert.deepEqual(rankClusters([unrelated, byDefault], { ...HOST, idc: '', ip: '' }).map((c) => c.id), [1, 4], 'nothing matches: the default cluster')
    assert.deepEqual(rankClusters([cluster(9, {}), cluster(5, {})], HOST).map((c) => c.id), [5, 9], 'then by id')
  })

  it('scores nothing for a host that tells nothing', () => {
    assert.equal(scopeScore(clusterScopesSchema.parse({ cidrs: ['0.0.0.0/0'], hostnames: ['.*'], idc: 'a', location: 'cn' }), false, { hostname: '', ip: '', idc: '', location: '' }), 0)
  })
})
