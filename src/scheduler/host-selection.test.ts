import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { HostId, TaskId } from '../protocol/ids.js'
import { selectHosts, type HostSelectionRule, type SelectableHost } from './host-selection.js'
import { seedHostFor } from './seed-selection.js'

const TEST = { timeout: 10_000 }

function host(id: string, ip: string, seed = false): SelectableHost {
  return { id: id as HostId, ip, hostname: `${id}.example`, seed }
}

// Listed out of id order: the selection sorts by host id.
const CONNECTED: readonly SelectableHost[] = [
  host('n3', '10.0.0.3'),
  host('s2', '10.0.1.2', true),
  host('n1', '10.0.0.1'),
  host('s1', '10.0.1.1', true),
  host('n2', '10.0.0.2'),
  host('s3', '10.0.1.3', true),
]
const TASK_A = 'a'.repeat(64) as TaskId
const TASK_B = 'b'.repeat(64) as TaskId

function rule(overrides: Partial<HostSelectionRule>): HostSelectionRule {
  return { scope: 'all-peers', hosts: [], count: 0, percentage: 0, ...overrides }
}

const ids = (hosts: readonly SelectableHost[]): string[] => hosts.map((h) => h.id)

describe('selectHosts: the same hosts for every download', TEST, () => {
  const cases: ReadonlyArray<{ name: string; rule: HostSelectionRule; hosts: string[]; unmatched?: string[] }> = [
    { name: 'all peers', rule: rule({}), hosts: ['n1', 'n2', 'n3', 's1', 's2', 's3'] },
    { name: 'all seed peers', rule: rule({ scope: 'all-seed-peers' }), hosts: ['s1', 's2', 's3'] },
    { name: 'a count', rule: rule({ count: 2 }), hosts: ['n1', 'n2'] },
    { name: 'a count above the hosts there are', rule: rule({ count: 50 }), hosts: ['n1', 'n2', 'n3', 's1', 's2', 's3'] },
    { name: 'a percentage, rounded up', rule: rule({ percentage: 34 }), hosts: ['n1', 'n2', 'n3'] },
    { name: 'a small percentage still keeps one', rule: rule({ percentage: 1 }), hosts: ['n1'] },
    { name: '100 per cent', rule: rule({ percentage: 100 }), hosts: ['n1', 'n2', 'n3', 's1', 's2', 's3'] },
    { name: 'a percentage of the seeds', rule: rule({ scope: 'all-seed-peers', percentage: 50 }), hosts: ['s1', 's2'] },
    { name: 'listed by hostname and IP', rule: rule({ hosts: ['n2.example', '10.0.1.3'] }), hosts: ['n2', 's3'] },
    { name: 'listed by host id, as a rerun names hosts that share an address', rule: rule({ hosts: ['n3', 's1'] }), hosts: ['n3', 's1'] },
    { name: 'listed twice', rule: rule({ hosts: ['10.0.0.1', '10.0.0.1', 'n1.example'] }), hosts: ['n1'] },
    { name: 'listed, then counted', rule: rule({ hosts: ['10.0.0.3', '10.0.0.2', '10.0.0.1'], count: 1 }), hosts: ['n1'] },
    { name: 'a name nobody has', rule: rule({ hosts: ['n1.example', 'ghost'] }), hosts: ['n1'], unmatched: ['ghost'] },
    { name: 'a normal host listed for the seeds', rule: rule({ scope: 'all-seed-peers', hosts: ['10.0.0.1', 's1.example'] }), hosts: ['s1'], unmatched: ['10.0.0.1'] },
    { name: 'only names nobody has', rule: rule({ hosts: ['ghost', 'ghoul'] }), hosts: [], unmatched: ['ghost', 'ghoul'] },
  ]
  for (const c of cases) {
    it(c.name, TEST, () => {
      const selection = selectHosts(CONNECTED, c.rule, [TASK_A, TASK_B])
      assert.deepEqual(ids(selection.hosts), c.hosts)
      assert.deepEqual(selection.hostsByDownload.map(ids), [c.hosts, c.hosts])
      assert.deepEqual(selection.unmatched, c.unmatched ?? [])
    })
  }

  it('selects nobody when nobody is connected', TEST, () => {
    const selection = selectHosts([], rule({ scope: 'all-seed-peers' }), [TASK_A])
    assert.deepEqual(selection, { hostsByDownload: [[]], hosts: [], unmatched: [] })
  })

  it('matches an IPv6 address however it is written', TEST, () => {
    const selection = selectHosts([host('v6', '2001:db8::1')], rule({ hosts: ['2001:0db8:0:0:0:0:0:1'] }), [TASK_A])
    assert.deepEqual(ids(selection.hosts), ['v6'])
  })
})

describe('selectHosts: a single seed peer per download', TEST, () => {
  const seeds = CONNECTED.filter((h) => h.seed)
  // Task ids whose seeds differ, so that a test can tell one download's seed from another's.
  const taskIds = Array.from({ length: 64 }, (_, i) => i.toString(16).padStart(64, '0') as TaskId)
  const first = taskIds[0]!
  const other = taskIds.find((id) => seedHostFor(id, seeds) !== seedHostFor(first, seeds))!

  it('picks, per task, the seed the scheduler would ask to fetch it', TEST, () => {
    const selection = selectHosts(CONNECTED, rule({ scope: 'single-seed-peer' }), [first, other])
    assert.deepEqual(selection.hostsByDownload.map(ids), [[seedHostFor(first, seeds)!.id], [seedHostFor(other, seeds)!.id]])
    assert.deepEqual(ids(selection.hosts), [seedHostFor(first, seeds)!.id, seedHostFor(other, seeds)!.id].sort())
  })

  it('picks among the seeds listed, and ignores count and percentage', TEST, () => {
    const selection = selectHosts(CONNECTED, rule({ scope: 'single-seed-peer', hosts: ['s2.example', '10.0.1.3'], count: 1 }), [first, other])
    const listed = seeds.filter((h) => h.id !== 's1')
    assert.deepEqual(selection.hostsByDownload.map(ids), [[seedHostFor(first, listed)!.id], [seedHostFor(other, listed)!.id]])
  })

  it('skips a seed the task distrusts, as the scheduler does', TEST, () => {
    const usual = seedHostFor(first, seeds)!
    const selection = selectHosts(CONNECTED, rule({ scope: 'single-seed-peer' }), [first], (taskId) => new Set(taskId === first ? [usual.id] : []))
    assert.deepEqual(selection.hostsByDownload.map(ids), [[seedHostFor(first, seeds.filter((h) => h !== usual))!.id]])
  })

  it('selects nobody without seeds', TEST, () => {
    const selection = selectHosts(CONNECTED.filter((h) => !h.seed), rule({ scope: 'single-seed-peer' }), [first])
    assert.deepEqual(selection.hostsByDownload, [[]])
    assert.deepEqual(selection.hosts, [])
  })
})
