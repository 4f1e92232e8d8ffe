import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { Registry } from 'prom-client'
import { silentLogger } from '../common/logger.js'
import type { AnnouncePeerResponse } from '../protocol/generated/damselfly/scheduler/v1/scheduler.js'
import { WeightedEvaluator } from './evaluator.js'
import type { Peer } from './peer.js'
import { Resources, seededRandom, type RecordingSink } from './resource-fixtures.js'
import { MAX_FAN_OUT_FACTOR, newParentFanOut, PIECE_HOP_MS, ScheduleRunner } from './schedule-runner.js'
import { SchedulerMetrics } from './scheduler-metrics.js'
import { Scheduling } from './scheduling.js'

const TEST = { timeout: 5_000 }

function runner(resources: Resources): ScheduleRunner {
  const random = seededRandom(7)
  const scheduling = new Scheduling(
    { evaluator: new WeightedEvaluator(), random, clock: resources.clock, connectedSeedHosts: () => [], logger: silentLogger() },
    { candidateParentLimit: 4, filterParentLimit: 15, retryBackToSourceLimit: 4, retryLimit: 5, backToSourceCount: 200, seedWaitTimeoutMs: 0 },
  )
  const metrics = new SchedulerMetrics(new Registry(), { hosts: () => 0, tasks: () => 0, peers: () => 0 })
  return new ScheduleRunner({ scheduling, metrics, recorder: resources.recorder, clock: resources.clock, logger: silentLogger(), random }, { retryIntervalMs: 500 })
}

/** Parents offered to the peer so far, by peer id. */
function offered(peer: Peer): string[] {
  const messages = (peer.stream as RecordingSink<AnnouncePeerResponse>).messages
  return messages.flatMap((message) => (message.response?.$case === 'normalTask' ? message.response.value.parents.map((parent) => parent.peerId) : []))
}

describe('ScheduleRunner.offerNewParent', TEST, () => {
  it('offers a new parent to at most maxChildren running peers, those with the fewest parents first', TEST, () => {
    const r = new Resources()
    const children = Array.from({ length: 8 }, (_, i) => r.peer(`c${i}`, r.host(`h${i}`), { state: 'running' }))
    const busy = r.peer('busy', r.host('hb'), { pieces: [0] })
    // c0..c3 already have one parent; c7 has as many as it may.
    for (const child of children.slice(0, 4)) r.task().graph.addEdge(busy.id, child.id)
    for (let i = 0; i < 3; i++) r.task().graph.addEdge(r.peer(`p${i}`, r.host(`hp${i}`), { pieces: [0] }).id, children[7]!.id)
    const parent = r.peer('new', r.host('hn'), { pieces: [1] })
    runner(r).offerNewParent(parent, { maxParents: 3, maxChildren: 3 })
    const got = children.filter((child) => offered(child).includes('new')).map((child) => child.id)
    assert.equal(got.length, 3)
    assert.ok(got.every((id) => ['c4', 'c5', 'c6'].includes(id)), `offered to ${got.join(', ')}: the children without parents come first`)
    assert.ok(got.every((id) => r.task().graph.hasEdge(parent.id, id)))
  })

  it('lets two peers be each other\'s parents, and skips children that are not running or already have it', TEST, () => {
    const r = new Resources()
    const a = r.peer('a', r.host('ha'), { pieces: [0], state: 'running' })
    const b = r.peer('b', r.host('hb'), { pieces: [1], state: 'running' })
    const pending = r.peer('pending', r.host('hp'))
    const run = runner(r)
    run.offerNewParent(a, { maxParents: 16, maxChildren: 8 })
    run.offerNewParent(b, { maxParents: 16, maxChildren: 8 })
    run.offerNewParent(b, { maxParents: 16, maxChildren: 8 })
    assert.deepEqual(offered(a), ['b'])
    assert.deepEqual(offered(b), ['a'])
    assert.deepEqual(offered(pending), [])
  })

  it('offers a parent whose link sends a piece to more children within a hop to that many, up to a bound', TEST, () => {
    const r = new Resources()
    r.task().pieceLengthBytes = 1024 * 1024
    const children = Array.from({ length: 40 }, (_, i) => r.peer(`c${i}`, r.host(`h${i}`), { state: 'running' }))
    const at = (gbits: number) => ({ uploadCapacityBytesPerSecond: (gbits * 1e9) / 8 })
    const fast = r.peer('fast', r.host('hf', {}, at(25)), { pieces: [0] })
    const piecesPerHop = Math.floor((at(25).uploadCapacityBytesPerSecond * PIECE_HOP_MS) / 1000 / (1024 * 1024))
    assert.ok(piecesPerHop > 8 && piecesPerHop < 8 * MAX_FAN_OUT_FACTOR)
    runner(r).offerNewParent(fast, { maxParents: 16, maxChildren: 8 })
    assert.equal(children.filter((child) => offered(child).includes('fast')).length, piecesPerHop)
    // A 1 Gbit/s link is busy a whole hop with one 1 MiB piece; an unknown capacity says nothing.
    assert.equal(newParentFanOut(r.peer('slow', r.host('hs', {}, at(1))), 8), 8)
    assert.equal(newParentFanOut(r.peer('unknown', r.host('hu')), 8), 8)
  })

  it('gives a host that announces an absurd capacity no more than the bound of children', TEST, () => {
    const r = new Resources()
    r.task().pieceLengthBytes = 1024 * 1024
    const children = Array.from({ length: 64 }, (_, i) => r.peer(`c${i}`, r.host(`h${i}`), { state: 'running' }))
    const liar = r.peer('liar', r.host('hl', {}, { uploadCapacityBytesPerSecond: Number.MAX_SAFE_INTEGER }), { pieces: [0] })
    runner(r).offerNewParent(liar, { maxParents: 16, maxChildren: 8 })
    assert.equal(children.filter((child) => offered(child).includes('liar')).length, 8 * MAX_FAN_OUT_FACTOR)
  })
})
