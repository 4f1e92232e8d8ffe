import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { PeerId } from '../protocol/ids.js'
import { PARENT_FILTERS, rejectionReason, type ParentFilterReason } from './parent-filters.js'
import type { Peer } from './peer.js'
import { Resources } from './resource-fixtures.js'

const TEST = { timeout: 5_000 }

/** A child on host-c and a candidate on host-p holding piece 0; each case spoils one thing. */
function setup(): { resources: Resources; child: Peer; candidate: Peer } {
  const resources = new Resources()
  const child = resources.peer('child', resources.host('host-c'))
  const candidate = resources.peer('candidate', resources.host('host-p'), { pieces: [0], state: 'running' })
  return { resources, child, candidate }
}

describe('parent filters', TEST, () => {
  const cases: ReadonlyArray<{ reason: ParentFilterReason | undefined; spoil: (s: ReturnType<typeof setup>) => Peer }> = [
    { reason: undefined, spoil: ({ candidate }) => candidate },
    { reason: 'blocklisted', spoil: ({ child, candidate }) => (child.blocklist.add(candidate.id), candidate) },
    { reason: 'same-host', spoil: ({ resources, child }) => resources.peer('twin', child.host, { pieces: [0] }) },
    { reason: 'distrusted', spoil: ({ child, candidate }) => (child.task.distrustedHosts.add(candidate.hostId), candidate) },
    { reason: 'sharing-disabled', spoil: ({ resources }) => resources.peer('private', resources.host('host-x', { disableShared: true }), { pieces: [0] }) },
    {
      reason: 'not-running',
      spoil: ({ resources, candidate }) => {
        resources.store.disconnectHost(candidate.host)
        return candidate
      },
    },
    { reason: 'bad-parent', spoil: ({ candidate }) => ((candidate.state = 'failed'), candidate) },
    { reason: 'bad-parent', spoil: ({ candidate }) => ((candidate.state = 'left'), candidate) },
    {
      reason: 'bad-parent',
      spoil: ({ candidate }) => {
        for (const costMs of [10, 10, 10, 500]) candidate.recordUpload({ costMs })
        return candidate
      },
    },
    { reason: 'nothing-to-give', spoil: ({ resources }) => resources.peer('empty', resources.host('host-y')) },
    {
      // Peers trade both ways: being the child's own child is no reason to refuse a parent.
      reason: undefined,
      spoil: ({ child, candidate }) => {
        assert.equal(child.task.graph.addEdge(child.id, candidate.id), true)
        return candidate
      },
    },
  ]
  for (const [index, { reason, spoil }] of cases.entries()) {
    it(`case ${index}: ${reason ?? 'accepted'}`, TEST, () => {
      const s = setup()
      const candidate = spoil(s)
      assert.equal(rejectionReason(s.child, candidate), reason)
    })
  }

  it('every filter has a distinct reason and each is covered above', TEST, () => {
    const reasons = PARENT_FILTERS.map((filter) => filter.reason)
    assert.equal(new Set(reasons).size, reasons.length)
    const covered = new Set(cases.map((c) => c.reason))
    for (const reason of reasons) assert.ok(covered.has(reason), reason)
  })

  it('a blocklist entry for another peer does not reject', TEST, () => {
    const { child, candidate } = setup()
    child.blocklist.add('someone-else' as PeerId)
    assert.equal(rejectionReason(child, candidate), undefined)
  })
})
