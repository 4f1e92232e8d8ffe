import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { Registry } from 'prom-client'
import { silentLogger } from '../common/logger.js'
import { WeightedEvaluator } from './evaluator.js'
import type { Peer } from './peer.js'
import { PeerEvents } from './peer-events.js'
import { PieceAnnouncer } from './piece-announcer.js'
import { Resources, seededRandom } from './resource-fixtures.js'
import { ScheduleRunner } from './schedule-runner.js'
import { SchedulerMetrics } from './scheduler-metrics.js'
import { Scheduling } from './scheduling.js'

const TEST = { timeout: 5_000 }
const PIECE_BYTES = 1_000

function digestOf(number: number): string {
  return String(number).padStart(64, 'd')
}

function harness(r: Resources): { events: PeerEvents; runner: ScheduleRunner; report: (peer: Peer, pieces: Array<[number, string]>) => void } {
  const random = seededRandom(11)
  const scheduling = new Scheduling(
    { evaluator: new WeightedEvaluator(), random, clock: r.clock, connectedSeedHosts: () => r.store.connectedSeedHosts(), logger: silentLogger() },
    { candidateParentLimit: 4, filterParentLimit: 15, retryBackToSourceLimit: 4, retryLimit: 5, backToSourceCount: 200, seedWaitTimeoutMs: 30_000 },
  )
  const metrics = new SchedulerMetrics(new Registry(), { hosts: () => 0, tasks: () => 0, peers: () => 0 })
  const runner = new ScheduleRunner({ scheduling, metrics, recorder: r.recorder, clock: r.clock, logger: silentLogger(), random }, { retryIntervalMs: 500 })
  const events = new PeerEvents(
    { store: r.store, runner, announcer: new PieceAnnouncer({ defer: () => undefined }), metrics, logger: silentLogger(), recorder: r.recorder, clock: r.clock },
    { offers: { maxParents: 16, maxChildren: 8 } },
  )
  /** One pieces_finished report: [piece number, parent peer id or '' for the origin]. */
  const report = (peer: Peer, pieces: Array<[number, string]>): void => {
    events.handle(peer, {
      $case: 'piecesFinished',
      value: { pieces: pieces.map(([number, parentPeerId]) => ({ piece: { number, offset: number * PIECE_BYTES, length: PIECE_BYTES, digest: digestOf(number) }, parentPeerId, costMs: 1, content: Buffer.alloc(0) })) },
    })
  }
  return { events, runner, report }
}

describe('SwarmRecorder: traffic per peer, edge, task and minute from piece reports', TEST, () => {
  it('counts origin bytes, bytes per edge and uploads, each new piece once, and the seed peer\'s share', TEST, () => {
    const r = new Resources()
    const { report } = harness(r)
    const seed = r.peer('seed', r.host('h-seed', { seed: true }), { state: 'back-to-source' })
    const a = r.peer('a', r.host('h-a'), { state: 'running' })
    const b = r.peer('b', r.host('h-b'), { state: 'running' })
    report(seed, [[0, ''], [1, ''], [2, '']])
    report(a, [[0, 'seed'], [1, 'seed']])
    report(a, [[0, 'seed']])
    report(b, [[0, 'a'], [1, 'seed'], [2, 'seed']])

    assert.deepEqual([seed.traffic.bytesFromOrigin, seed.traffic.bytesFromPeers, seed.traffic.uploadedBytes], [3 * PIECE_BYTES, 0, 4 * PIECE_BYTES])
    assert.deepEqual([a.traffic.bytesFromOrigin, a.traffic.bytesFromPeers, a.traffic.uploadedBytes], [0, 2 * PIECE_BYTES, PIECE_BYTES], 'the repeated piece moved no bytes')
    assert.deepEqual(a.traffic.fromParent(seed.id), { bytes: 2 * PIECE_BYTES, pieces: 2 })
    assert.deepEqual(b.traffic.fromParent(a.id), { bytes: PIECE_BYTES, pieces: 1 })
    assert.deepEqual(b.traffic.fromParent(seed.id), { bytes: 2 * PIECE_BYTES, pieces: 2 })
    assert.deepEqual(seed.task.traffic, { bytesFromPeers: 5 * PIECE_BYTES, bytesFromSeedPeers: 4 * PIECE_BYTES, bytesFromOrigin: 3 * PIECE_BYTES })
    const minute = r.stats.buckets().at(-1)
    assert.deepEqual([minute?.bytesFromPeers, minute?.bytesFromSeedPeers, minute?.bytesFromOrigin], [5 * PIECE_BYTES, 4 * PIECE_BYTES, 3 * PIECE_BYTES])
    assert.equal(b.traffic.rate.bytesPerSecond(r.clock.nowMs()), Math.round(3 * PIECE_BYTES / 5))
  })

  it('counts nothing for a piece refused as unverified or as a mismatch', TEST, () => {
    const r = new Resources()
    const { events, report } = harness(r)
    const loner = r.peer('loner', r.host('h-loner'), { state: 'running' })
    report(loner, [[0, '']])
    assert.equal(loner.traffic.bytesFromOrigin, 0, 'a peer the scheduler did not send to the origin vouches for nothing')
    const seed = r.peer('seed', r.host('h-seed', { seed: true }), { state: 'back-to-source' })
    report(seed, [[0, '']])
    events.handle(loner, { $case: 'piecesFinished', value: { pieces: [{ piece: { number: 0, offset: 0, length: PIECE_BYTES, digest: 'e'.repeat(64) }, parentPeerId: 'seed', costMs: 1, content: Buffer.alloc(0) }] } })
    assert.equal(loner.traffic.bytesFromPeers, 0)
    assert.equal(seed.traffic.uploadedBytes, 0)
  })

  it('names the back-to-source reason at the decision, keeps it when the peer then says it started, and names a peer that went alone', TEST, () => {
    const r = new Resources()
    const { events, runner } = harness(r)
    const seed = r.peer('seed', r.host('h-seed', { seed: true }))
    runner.run(seed)
    assert.equal(seed.traffic.backToSourceReason, 'seed_peer')
    events.handle(seed, { $case: 'backToSourceStarted', value: { contentLength: 0, contentLengthKnown: false, pieceLength: 0 } })
    assert.equal(seed.traffic.backToSourceReason, 'seed_peer')
    const alone = r.peer('alone', r.host('h-alone'), { state: 'running' })
    events.handle(alone, { $case: 'backToSourceStarted', value: { contentLength: 0, contentLengthKnown: false, pieceLength: 0 } })
    assert.equal(alone.traffic.backToSourceReason, 'peer_fallback')
    assert.deepEqual(r.stats.buckets().at(-1)?.backToSource, [{ reason: 'seed_peer', count: 1 }, { reason: 'peer_fallback', count: 1 }])
  })

  it('counts each peer\'s end once and a task\'s finish with its first peer', TEST, () => {
    const r = new Resources()
    const { events } = harness(r)
    const [a, b] = [r.peer('a', r.host('h-a')), r.peer('b', r.host('h-b'))]
    events.handle(a, { $case: 'peerFinished', value: { contentLength: 0, pieceCount: 0 } })
    events.handle(a, { $case: 'peerFailed', value: { reason: 'late', code: '', sourceStatus: 0 } })
    events.handle(b, { $case: 'peerFinished', value: { contentLength: 0, pieceCount: 0 } })
    const minute = r.stats.buckets().at(-1)
    assert.deepEqual([minute?.peersFinished, minute?.peersFailed, minute?.tasksFinished], [2, 0, 1])
  })
})
