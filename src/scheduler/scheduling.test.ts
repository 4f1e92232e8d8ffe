import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { silentLogger } from '../common/logger.js'
import type { PeerId, TaskId } from '../protocol/ids.js'
import type { Download } from '../protocol/generated/damselfly/scheduler/v1/scheduler.js'
import { WeightedEvaluator } from './evaluator.js'
import type { Host } from './host.js'
import { GBIT, Resources, seededRandom } from './resource-fixtures.js'
import { seedHostFor } from './seed-selection.js'
import { Scheduling, type ScheduleDecision, type SchedulingInit } from './scheduling.js'

const TEST = { timeout: 5_000 }
const INIT: SchedulingInit = { candidateParentLimit: 4, filterParentLimit: 15, retryBackToSourceLimit: 4, retryLimit: 5, backToSourceCount: 200, seedWaitTimeoutMs: 0 }

function scheduling(resources: Resources, init: Partial<SchedulingInit> = {}, seed = 1): Scheduling {
  return new Scheduling(
    {
      evaluator: new WeightedEvaluator(),
      random: seededRandom(seed),
      clock: resources.clock,
      connectedSeedHosts: () => resources.store.connectedSeedHosts(),
      logger: silentLogger(),
    },
    { ...INIT, ...init },
  )
}

/** Kinds of successive schedules of one peer, with `retry+seed` when a seed was triggered. */
function kinds(decisions: readonly ScheduleDecision[]): string[] {
  return decisions.map((d) => (d.kind === 'retry' && d.seedHost !== undefined ? 'retry+seed' : d.kind))
}

interface Case {
  readonly name: string
  readonly download?: Partial<Download>
  readonly seedHost?: boolean
  readonly childOnSeedHost?: boolean
  readonly backToSourcePeers?: number
  readonly backToSourceCount?: number
  readonly existingSeedPeer?: boolean
  readonly expected: readonly string[]
}

describe('Scheduling: waiting for a seed peer', TEST, () => {
  it('keeps peers waiting while the seed works, then applies the limits once the wait is over', TEST, () => {
    const r = new Resources()
    const s = scheduling(r, { seedWaitTimeoutMs: 30_000 })
    r.host('seed-host', { seed: true })
    const child = r.peer('child', r.host('child-host'), { download: { priority: 6 } })
    const waiting = Array.from({ length: 8 }, () => s.schedule(child))
    assert.deepEqual(kinds(waiting), ['retry+seed', ...Array<string>(7).fill('retry')])
    r.clock.advance(30_000)
    assert.equal(s.schedule(child).kind, 'back-to-source')
  })

  it('stops waiting as soon as the seed peer fails', TEST, () => {
    const r = new Resources()
    const s = scheduling(r, { seedWaitTimeoutMs: 30_000 })
    const seedHost = r.host('seed-host', { seed: true })
    const child = r.peer('child', r.host('child-host'), { download: { priority: 6 } })
    assert.equal(kinds([s.schedule(child)])[0], 'retry+seed')
    const seedPeer = r.peer('seed-peer', seedHost, { state: 'back-to-source' })
    assert.equal(s.schedule(child).kind, 'retry', 'the seed is at work')
    seedPeer.state = 'failed'
    assert.equal(s.schedule(child).kind, 'back-to-source', 'the first schedule after the seed failed')
  })

  it('stops waiting once a failed seed peer has left the task, as its stream closing makes it', TEST, () => {
    const r = new Resources()
    const s = scheduling(r, { seedWaitTimeoutMs: 30_000 })
    const seedHost = r.host('seed-host', { seed: true })
    const child = r.peer('child', r.host('child-host'), { download: { priority: 6 } })
    assert.equal(kinds([s.schedule(child)])[0], 'retry+seed')
    r.peer('seed-peer', seedHost, { state: 'failed' })
    r.store.removePeer('seed-peer' as PeerId)
    assert.equal(s.schedule(child).kind, 'back-to-source')
  })
})

describe('Scheduling: a peer without candidate parents', TEST, () => {
  const R = 'retry'
  const cases: readonly Case[] = [
    { name: 'priority 1 is forbidden', download: { priority: 1 }, expected: ['failed'] },
    { name: 'a seed host peer goes back to source at once', childOnSeedHost: true, seedHost: true, expected: ['back-to-source'] },
    { name: 'priority 3 goes back to source at once', download: { priority: 3 }, seedHost: true, expected: ['back-to-source'] },
    {
      name: 'priority 3 with the back-to-source cap reached retries, then fails',
      download: { priority: 3 },
      backToSourcePeers: 2,
      backToSourceCount: 2,
      expected: [R, R, R, R, 'failed'],
    },
    { name: 'priority 3 with back-to-source disabled retries, then fails', download: { priority: 3, disableBackToSource: true }, expected: [R, R, R, R, 'failed'] },
    { name: 'priority 2 retries, then fails', download: { priority: 2 }, seedHost: true, expected: [R, R, R, R, 'failed'] },
    { name: 'priority 6 without seed hosts goes back to source at once', download: { priority: 6 }, expected: ['back-to-source'] },
    { name: 'priority 0 is treated like 6', download: { priority: 0 }, expected: ['back-to-source'] },
    { name: 'priority 4 is treated like 6', download: { priority: 4 }, expected: ['back-to-source'] },
    {
      name: 'priority 6 with a seed host triggers it once, then goes back to source after 4 schedules',
      download: { priority: 6 },
      seedHost: true,
      expected: ['retry+seed', R, R, 'back-to-source'],
    },
    {
      name: 'priority 5 with a seed host already holding a seed peer does not trigger again',
      download: { priority: 5 },
      seedHost: true,
      existingSeedPeer: true,
      expected: [R, R, R, 'back-to-source'],
    },
    {
      name: 'priority 6 with a seed host and the cap reached retries, then fails',
      download: { priority: 6 },
      seedHost: true,
      backToSourcePeers: 1,
      backToSourceCount: 1,
      expected: ['retry+seed', R, R, R, 'failed'],
    },
    {
      name: 'priority 6 without seed hosts and the cap reached retries, then fails',
      download: { priority: 6 },
      backToSourcePeers: 1,
      backToSourceCount: 1,
      expected: [R, R, R, R, 'failed'],
    },
    {
      name: 'priority 6 with back-to-source disabled still triggers the seed, then fails',
      download: { priority: 6, disableBackToSource: true },
      seedHost: true,
      expected: ['retry+seed', R, R, R, 'failed'],
    },
  ]
  for (const c of cases) {
    it(c.name, TEST, () => {
      const r = new Resources()
      const s = scheduling(r, c.backToSourceCount === undefined ? {} : { backToSourceCount: c.backToSourceCount })
      const seed = c.seedHost === true ? r.host('seed-host', { seed: true }) : undefined
      if (c.existingSeedPeer === true && seed !== undefined) r.peer('seed-peer', seed, { state: 'back-to-source' })
      for (let i = 0; i < (c.backToSourcePeers ?? 0); i++) r.peer(`source-${i}`, r.host(`source-host-${i}`), { state: 'back-to-source' })
      const host = c.childOnSeedHost === true && seed !== undefined ? seed : r.host('child-host')
      const child = r.peer('child', host, { download: c.download ?? {} })
      const decisions: ScheduleDecision[] = []
      for (let i = 0; i < c.expected.length; i++) decisions.push(s.schedule(child))
      assert.deepEqual(kinds(decisions), c.expected)
      const last = decisions.at(-1)
      const expectedState = { 'back-to-source': 'back-to-source', failed: 'failed', retry: 'pending' } as const
      if (last !== undefined && last.kind in expectedState) assert.equal(child.state, expectedState[last.kind as keyof typeof expectedState])
    })
  }

  it('priority 1 fails with reason forbidden', TEST, () => {
    const r = new Resources()
    const child = r.peer('child', r.host('h'), { download: { priority: 1 } })
    assert.deepEqual(scheduling(r).schedule(child), { kind: 'failed', reason: 'forbidden' })
  })

  it('an empty task is answered without parents', TEST, () => {
    const r = new Resources()
    r.task().contentLengthBytes = 0
    r.peer('parent', r.host('p'), { pieces: [0] })
    const child = r.peer('child', r.host('c'))
    assert.equal(scheduling(r).schedule(child).kind, 'empty-task')
  })
})

describe('Scheduling: a second seed peer of a task', TEST, () => {
  function twoSeeds(): { r: Resources; s: Scheduling; first: ReturnType<Resources['peer']>; second: ReturnType<Resources['peer']> } {
    const r = new Resources()
    const s = scheduling(r, { seedWaitTimeoutMs: 30_000 })
    const first = r.peer('first', r.host('seed-a', { seed: true }))
    const second = r.peer('second', r.host('seed-b', { seed: true }))
    return { r, s, first, second }
  }

  it('waits for the seed peer already fetching it and then takes its pieces, so the origin sends them once', TEST, () => {
    const { r, s, first, second } = twoSeeds()
    assert.equal(s.schedule(first).kind, 'back-to-source')
    assert.equal(s.schedule(second).kind, 'retry')
    r.task().recordPiece({ number: 0, offset: 0, length: 4, digest: '0'.repeat(64) }, first.hostId)
    first.finishedPieces.add(0)
    const decision = s.scheduleIfParents(second)
    assert.deepEqual(decision?.kind === 'parents' ? decision.parents.map((p) => p.id) : decision?.kind, [first.id])
  })

  it('takes the pieces of a fetching seed peer whose uplink is many times its own', TEST, () => {
    const r = new Resources()
    const s = scheduling(r, { seedWaitTimeoutMs: 30_000 })
    const first = r.peer('first', r.host('seed-a', { seed: true }, { uploadCapacityBytesPerSecond: 10 * GBIT }))
    r.peer('fast-child', r.host('fast', {}, { uploadCapacityBytesPerSecond: 25 * GBIT }))
    const second = r.peer('second', r.host('seed-b', { seed: true }, { uploadCapacityBytesPerSecond: GBIT }))
    assert.equal(s.schedule(first).kind, 'back-to-source')
    r.task().recordPiece({ number: 0, offset: 0, length: 4, digest: '0'.repeat(64) }, first.hostId)
    first.finishedPieces.add(0)
    const decision = s.schedule(second)
    assert.deepEqual(decision.kind === 'parents' ? decision.parents.map((p) => p.id) : decision.kind, [first.id], 'not a retry until the seed wait is over')
  })

  it('fetches from the source itself once the other has taken longer than the seed wait, or has failed', TEST, () => {
    const slow = twoSeeds()
    assert.equal(slow.s.schedule(slow.first).kind, 'back-to-source')
    assert.equal(slow.s.schedule(slow.second).kind, 'retry')
    slow.r.clock.advance(30_000)
    assert.equal(slow.s.schedule(slow.second).kind, 'back-to-source')
    const failed = twoSeeds()
    assert.equal(failed.s.schedule(failed.first).kind, 'back-to-source')
    failed.first.state = 'failed'
    assert.equal(failed.s.schedule(failed.second).kind, 'back-to-source')
  })
})

describe('Scheduling: with candidate parents', TEST, () => {
  it('offers at most candidateParentLimit, best first, and adds graph edges', TEST, () => {
    const r = new Resources()
    r.task().contentLengthBytes = 40
    r.task().pieceLengthBytes = 4
    const parents = Array.from({ length: 6 }, (_, i) => r.peer(`p${i}`, r.host(`h${i}`), { pieces: Array.from({ length: i + 1 }, (_, n) => n) }))
    const child = r.peer('child', r.host('c'))
    const decision = scheduling(r).schedule(child)
    assert.equal(decision.kind, 'parents')
    assert.deepEqual(decision.kind === 'parents' ? decision.parents.map((p) => p.id) : [], ['p5', 'p4', 'p3', 'p2'])
    assert.deepEqual(r.task().graph.parentsOf(child.id).sort(), ['p2', 'p3', 'p4', 'p5'])
    assert.equal(child.state, 'running')
    assert.equal(parents.length, 6)
  })

  it('considers only a random sample of filterParentLimit peers, repeatably for a seed', TEST, () => {
    const pick = (seed: number): string[] => {
      const r = new Resources()
      for (let i = 0; i < 30; i++) r.peer(`p${i}`, r.host(`h${i}`), { pieces: [0] })
      const child = r.peer('child', r.host('c'))
      return scheduling(r, { filterParentLimit: 3, candidateParentLimit: 10 }, seed).findParents(child).map((p) => p.id).sort()
    }
    assert.equal(pick(7).length, 3)
    assert.deepEqual(pick(7), pick(7))
    assert.notDeepEqual(pick(7), pick(8))
  })

  it('rescheduling drops the blocklisted parent, keeps the others and offers only new ones', TEST, () => {
    const r = new Resources()
    const a = r.peer('a', r.host('ha'), { pieces: [0] })
    r.peer('b', r.host('hb'), { pieces: [0] })
    const child = r.peer('child', r.host('c'))
    const s = scheduling(r, { candidateParentLimit: 2 })
    assert.equal(s.schedule(child).kind, 'parents')
    child.blocklist.add(a.id)
    r.peer('c', r.host('hc'), { pieces: [0] })
    const again = s.schedule(child)
    // The daemon keeps b (ParentOffers adds, never replaces): the scheduler must go on telling it of b's pieces.
    assert.deepEqual(again.kind === 'parents' ? again.parents.map((p) => p.id) : again.kind, ['c'])
    assert.deepEqual(r.task().graph.parentsOf(child.id).sort(), ['b', 'c'])
  })

  it('a peer that keeps parents but finds no new one goes on with them, without a failed schedule', TEST, () => {
    const r = new Resources()
    r.peer('a', r.host('ha'), { pieces: [0] })
    const child = r.peer('child', r.host('c'))
    const s = scheduling(r, { retryBackToSourceLimit: 1 })
    assert.equal(s.schedule(child).kind, 'parents')
    for (let i = 0; i < 3; i++) assert.equal(s.schedule(child).kind, 'retry')
    assert.equal(child.state, 'running')
    assert.equal(child.failedScheduleCount, 0)
    assert.deepEqual(r.task().graph.parentsOf(child.id), ['a'])
  })

  it('a peer sent back to source or given up on is no parent\'s child any more', TEST, () => {
    for (const [priority, kind] of [[0, 'back-to-source'], [1, 'failed']] as const) {
      const r = new Resources()
      const a = r.peer('a', r.host('ha'), { pieces: [0] })
      const child = r.peer('child', r.host('c'), { download: { priority } })
      const cluster: { blocked: string | undefined } = { blocked: undefined }
      const s = new Scheduling(
        { evaluator: new WeightedEvaluator(), random: seededRandom(1), clock: r.clock, connectedSeedHosts: () => [], logger: silentLogger(), blockReason: () => cluster.blocked },
        INIT,
      )
      assert.equal(s.schedule(child).kind, 'parents')
      cluster.blocked = 'the cluster blocks this URL'
      assert.equal(s.schedule(child).kind, kind)
      assert.deepEqual(r.task().graph.parentsOf(child.id), [], `parents after ${kind}`)
      assert.equal(a.host.children, 0)
    }
  })

  it('counts the children it gave a host as its load, so a burst of decisions spreads over parents', TEST, () => {
    const r = new Resources()
    r.task().contentLengthBytes = 40
    r.task().pieceLengthBytes = 4
    // Eight parents alike but for one piece: the four with more would take every child.
    const parents = Array.from({ length: 8 }, (_, i) => r.peer(`p${i}`, r.host(`h${i}`, {}, { concurrentUploadLimit: 4 }), { pieces: i < 4 ? [0, 1] : [0] }))
    const s = scheduling(r)
    const chosen = Array.from({ length: 4 }, (_, i) => {
      const decision = s.schedule(r.peer(`child${i}`, r.host(`c${i}`)))
      return decision.kind === 'parents' ? decision.parents.map((p) => p.id) : []
    })
    const used = new Set(chosen.flat())
    assert.ok(used.size > 4, `parents used: ${[...used].join(', ')}`)
    assert.equal(parents[0]?.host.children, chosen.filter((ids) => ids.includes(parents[0]!.id)).length)
  })

  it('gives a host its slots back as its children leave', TEST, () => {
    const r = new Resources()
    const parent = r.peer('p', r.host('hp', {}, { concurrentUploadLimit: 10, concurrentUploadCount: 1 }), { pieces: [0] })
    const children = Array.from({ length: 3 }, (_, i) => r.peer(`c${i}`, r.host(`hc${i}`)))
    for (const child of children) r.task().graph.addEdge(parent.id, child.id)
    assert.equal(parent.host.children, 3)
    assert.equal(parent.host.freeUploadSlots, 7, 'the children it was given, more than the one upload it announced')
    r.task().removePeer(children[0]!.id, 0)
    r.task().graph.deleteInEdges(children[1]!.id)
    assert.equal(parent.host.children, 1)
    assert.equal(parent.host.freeUploadSlots, 9, 'the upload it announced, more than its one child')
    r.task().removePeer(parent.id, 0)
    assert.equal(parent.host.children, 0)
  })

  it('a found parent resets the failed-schedule count', TEST, () => {
    const r = new Resources()
    const child = r.peer('child', r.host('c'), { download: { priority: 2 } })
    const s = scheduling(r)
    s.schedule(child)
    s.schedule(child)
    assert.equal(child.failedScheduleCount, 2)
    r.peer('a', r.host('ha'), { pieces: [0] })
    assert.equal(s.scheduleIfParents(child)?.kind, 'parents')
    assert.equal(child.failedScheduleCount, 0)
  })

  it('scheduleIfParents changes nothing when there are none', TEST, () => {
    const r = new Resources()
    const child = r.peer('child', r.host('c'), { download: { priority: 2 } })
    assert.equal(scheduling(r).scheduleIfParents(child), undefined)
    assert.equal(child.failedScheduleCount, 0)
    assert.equal(child.state, 'pending')
  })
})

describe('seedHostFor: rendezvous hashing', TEST, () => {
  function hosts(r: Resources, count: number): Host[] {
    return Array.from({ length: count }, (_, i) => r.host(`seed-${i}`, { seed: true }))
  }
  const taskIds = Array.from({ length: 200 }, (_, i) => i.toString(16).padStart(64, '0') as TaskId)

  it('is stable, independent of order, and spreads tasks', TEST, () => {
    const r = new Resources()
    const seeds = hosts(r, 4)
    const counts = new Map<string, number>()
    for (const taskId of taskIds) {
      const chosen = seedHostFor(taskId, seeds)
      assert.equal(chosen, seedHostFor(taskId, [...seeds].reverse()))
      counts.set(chosen!.id, (counts.get(chosen!.id) ?? 0) + 1)
    }
    assert.equal(counts.size, 4)
    for (const count of counts.values()) assert.ok(count > 20, `uneven spread: ${[...counts.values()].join(',')}`)
  })

  it('moves only the tasks of a seed that leaves', TEST, () => {
    const r = new Resources()
    const seeds = hosts(r, 4)
    const without = seeds.slice(1)
    for (const taskId of taskIds) {
      const before = seedHostFor(taskId, seeds)!
      if (before !== seeds[0]) assert.equal(seedHostFor(taskId, without), before)
    }
    assert.equal(seedHostFor(taskIds[0]!, seeds.slice(0, 0)), undefined)
  })
})
