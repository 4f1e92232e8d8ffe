import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { Registry } from 'prom-client'
import { silentLogger } from '../common/logger.js'
import { WeightedEvaluator } from './evaluator.js'
import type { Peer } from './peer.js'
import { PeerEvents } from './peer-events.js'
import { Resources, seededRandom } from './resource-fixtures.js'
import { ScheduleRunner } from './schedule-runner.js'
import { SchedulerMetrics } from './scheduler-metrics.js'
import { Scheduling } from './scheduling.js'

const TEST = { timeout: 5_000 }
const FORGED = 'f'.repeat(64)
const REAL = 'e'.repeat(64)

/** The events of a scheduler over `r`, and a way to report a piece fetched from the source. */
function harness(r: Resources): { events: PeerEvents; fromSource: (peer: Peer, digest: string) => void } {
  const random = seededRandom(3)
  const scheduling = new Scheduling(
    { evaluator: new WeightedEvaluator(), random, clock: r.clock, connectedSeedHosts: () => r.store.connectedSeedHosts(), logger: silentLogger() },
    { candidateParentLimit: 4, filterParentLimit: 15, retryBackToSourceLimit: 4, retryLimit: 5, backToSourceCount: 200, seedWaitTimeoutMs: 30_000 },
  )
  const metrics = new SchedulerMetrics(new Registry(), { hosts: () => 0, tasks: () => 0, peers: () => 0 })
  const runner = new ScheduleRunner({ scheduling, metrics, clock: r.clock, logger: silentLogger(), random }, { retryIntervalMs: 500 })
  const events = new PeerEvents({ store: r.store, runner, metrics, logger: silentLogger() }, { offers: { maxParents: 16, maxChildren: 8 } })
  const fromSource = (peer: Peer, digest: string): void => {
    events.handle(peer, { $case: 'pieceFinished', value: { piece: { number: 0, offset: 0, length: 4, digest }, parentPeerId: '', costMs: 1, content: Buffer.alloc(0) } })
  }
  return { events, fromSource }
}

describe('PeerEvents: who may set a task\'s digests and length', TEST, () => {
  it('a normal peer that went to the source on its own sets nothing; its pieces stay unverified', TEST, () => {
    const r = new Resources()
    const { events, fromSource } = harness(r)
    const rogue = r.peer('rogue', r.host('normal-host'), { state: 'running' })
    events.handle(rogue, { $case: 'backToSourceStarted', value: { contentLength: 0, contentLengthKnown: true, pieceLength: 4 } })
    fromSource(rogue, FORGED)
    assert.equal(r.task().piece(0), undefined, 'no digest recorded')
    assert.equal(r.task().contentLengthBytes, undefined, 'an empty length would have made every later peer download nothing')
    assert.equal(rogue.finishedPieces.size, 0, 'so it is offered to nobody as a parent')
  })

  it('a seed host, or a peer the scheduler sent back to source, sets them', TEST, () => {
    const r = new Resources()
    const first = harness(r)
    const seed = r.peer('seed', r.host('seed-host', { seed: true }))
    first.events.handle(seed, { $case: 'backToSourceStarted', value: { contentLength: 8, contentLengthKnown: true, pieceLength: 4 } })
    first.fromSource(seed, REAL)
    assert.equal(r.task().piece(0)?.digest, REAL)
    assert.equal(r.task().contentLengthBytes, 8)
    const r2 = new Resources()
    const second = harness(r2)
    const granted = r2.peer('granted', r2.host('normal-host'))
    granted.backToSourceGranted = true
    second.fromSource(granted, REAL)
    assert.equal(r2.task().piece(0)?.digest, REAL)
  })

  it('a forged report after the authority is refused, and a whole-content mismatch drops the authority and distrusts its voucher', TEST, () => {
    const r = new Resources()
    const { events, fromSource } = harness(r)
    const seed = r.peer('seed', r.host('seed-host', { seed: true }))
    fromSource(seed, FORGED)
    const child = r.peer('child', r.host('child-host'), { state: 'running' })
    const honest = r.peer('honest', r.host('honest-host'))
    honest.backToSourceGranted = true
    fromSource(honest, REAL)
    assert.equal(r.task().piece(0)?.digest, FORGED, 'the first voucher wins; the later one is a mismatch')
    assert.equal(honest.finishedPieces.size, 0)
    events.handle(child, { $case: 'contentDigestMismatch', value: { expected: 'sha256:aa', actual: 'sha256:bb' } })
    assert.equal(r.task().piece(0), undefined)
    assert.equal(seed.finishedPieces.size, 0, 'the seed is no parent for what it vouched')
    assert.ok(r.task().distrustedHosts.has(seed.hostId))
    assert.equal(seed.vouches, false, 'nor does it vouch for the task again')
    fromSource(honest, REAL)
    assert.equal(r.task().piece(0)?.digest, REAL, 'the next trusted report is the authority')
    assert.equal(honest.finishedPieces.size, 1)
  })
})
