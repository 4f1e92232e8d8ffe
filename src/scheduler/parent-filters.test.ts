import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { PeerId } from '../protocol/ids.js'
import { PARENT_FILTERS, rejectionReason, type ParentFilterReason } from './parent-filters.js'
import type { Peer } from './peer.js'
import { GBIT, Resources } from './resource-fixtures.js'

const TEST = { timeout: 5_000 }

/** A child on host-c and a candidate on host-p holding piece 0; each case spoils one thing. */
function setup(): { resources: Resources; child: Peer; candidate: Peer } {
  const resources = new Resources()
  const child = resources.peer('child', resources.host('host-c'))
  const candidate = resources.peer('candidate', resources.host('host-p'), { pieces: [0], state: 'running' })
  return { resources, child, candidate }
}

/** Makes the child's host a 1 Gbit/s one, and adds a 25 Gbit/s child to its task. */
function slowChildBesideFastOne(resources: Resources, child: Peer): void {
  resources.host('host-c', {}, { uploadCapacityBytesPerSecond: GBIT })
  resources.peer('fast', resources.host('host-f', {}, { uploadCapacityBytesPerSecond: 25 * GBIT }))
  assert.equal(child.host.load.uploadCapacityBytesPerSecond, GBIT)
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
      // A 1 Gbit/s child beside a 25 Gbit/s one, and a 10 Gbit/s seed still fetching.
      reason: 'seed-kept-for-faster-children',
      spoil: ({ resources, child }) => {
        slowChildBesideFastOne(resources, child)
        return resources.peer('seed', resources.host('seed-host', { seed: true }, { uploadCapacityBytesPerSecond: 10 * GBIT }), { pieces: [0], state: 'back-to-source' })
      },
    },
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

  describe('a seed still fetching', TEST, () => {
    function seed(resources: Resources, capacity: number, state: Peer['state'] = 'back-to-source'): Peer {
      return resources.peer('seed', resources.host('seed-host', { seed: true }, { uploadCapacityBytesPerSecond: capacity }), { pieces: [0], state })
    }

    it('is a parent for every child when their uplinks are alike', TEST, () => {
      const { resources, child } = setup()
      resources.host('host-c', {}, { uploadCapacityBytesPerSecond: GBIT })
      resources.peer('other', resources.host('host-o', {}, { uploadCapacityBytesPerSecond: 2 * GBIT }))
      assert.equal(rejectionReason(child, seed(resources, GBIT)), undefined)
    })

    it('is a parent for a slower child once it has finished', TEST, () => {
      const { resources, child } = setup()
      slowChildBesideFastOne(resources, child)
      assert.equal(rejectionReason(child, seed(resources, 10 * GBIT, 'succeeded')), undefined)
    })

    it('measures the child against the slower of the seed and the fastest child', TEST, () => {
      const { resources, child } = setup()
      slowChildBesideFastOne(resources, child)
      // A quarter of a 4 Gbit/s seed is the child's own 1 Gbit/s: it may draw on it.
      assert.equal(rejectionReason(child, seed(resources, 4 * GBIT)), undefined)
    })

    it('is a parent for a child that does not say its capacity, or when the seed alone says one', TEST, () => {
      const { resources, child } = setup()
      resources.peer('fast', resources.host('host-f', {}, { uploadCapacityBytesPerSecond: 25 * GBIT }))
      assert.equal(rejectionReason(child, seed(resources, 10 * GBIT)), undefined)
      const alone = new Resources()
      const slow = alone.peer('child', alone.host('host-c', {}, { uploadCapacityBytesPerSecond: GBIT }))
      assert.equal(rejectionReason(slow, seed(alone, 10 * GBIT)), undefined)
    })

    it('lets no host that announces an absurd capacity keep others off the seed beyond what the seed\'s own capacity does', TEST, () => {
      const { resources, child } = setup()
      resources.host('host-c', {}, { uploadCapacityBytesPerSecond: 10 * GBIT })
      resources.peer('liar', resources.host('host-l', {}, { uploadCapacityBytesPerSecond: Number.MAX_SAFE_INTEGER }))
      assert.equal(rejectionReason(child, seed(resources, 0)), undefined, 'a seed that does not say its capacity')
      const told = new Resources()
      const honest = told.peer('child', told.host('host-c', {}, { uploadCapacityBytesPerSecond: 10 * GBIT }))
      told.peer('liar', told.host('host-l', {}, { uploadCapacityBytesPerSecond: Number.MAX_SAFE_INTEGER }))
      assert.equal(rejectionReason(honest, seed(told, 10 * GBIT)), undefined, 'a child as fast as the seed')
    })

    it('is a parent for another seed peer however slow, which waits to take the task from it', TEST, () => {
      const { resources } = setup()
      resources.peer('fast', resources.host('host-f', {}, { uploadCapacityBytesPerSecond: 25 * GBIT }))
      const slowSeed = resources.peer('slow-seed', resources.host('seed-slow', { seed: true }, { uploadCapacityBytesPerSecond: GBIT }))
      assert.equal(rejectionReason(slowSeed, seed(resources, 10 * GBIT)), undefined)
    })

    it('follows the task\'s fastest child as it leaves and as hosts announce new capacities', TEST, () => {
      const { resources, child } = setup()
      slowChildBesideFastOne(resources, child)
      const fetching = seed(resources, 10 * GBIT)
      assert.equal(rejectionReason(child, fetching), 'seed-kept-for-faster-children')
      resources.host('host-f', {}, { uploadCapacityBytesPerSecond: 2 * GBIT })
      assert.equal(rejectionReason(child, fetching), undefined)
      resources.host('host-f', {}, { uploadCapacityBytesPerSecond: 25 * GBIT })
      assert.equal(rejectionReason(child, fetching), 'seed-kept-for-faster-children')
      child.task.removePeer('fast' as PeerId, resources.clock.nowMs())
      assert.equal(rejectionReason(child, fetching), undefined)
    })
  })
})
