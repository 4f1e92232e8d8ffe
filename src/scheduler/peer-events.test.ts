import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { Registry } from 'prom-client'
import { silentLogger } from '../common/logger.js'
import type { AnnouncePeerResponse, PeerFailed } from '../protocol/generated/damselfly/scheduler/v1/scheduler.js'
import { WeightedEvaluator } from './evaluator.js'
import type { Peer } from './peer.js'
import { PeerEvents, type PeerEvent } from './peer-events.js'
import { PieceAnnouncer } from './piece-announcer.js'
import { Resources, seededRandom, type RecordingSink } from './resource-fixtures.js'
import { ScheduleRunner } from './schedule-runner.js'
import { SchedulerMetrics } from './scheduler-metrics.js'
import { Scheduling } from './scheduling.js'

const TEST = { timeout: 5_000 }
const FORGED = 'f'.repeat(64)
const REAL = 'e'.repeat(64)

/** The events of a scheduler over `r`, and a way to report a piece fetched from the source. */
function harness(r: Resources): { events: PeerEvents; runner: ScheduleRunner; announcer: PieceAnnouncer; metrics: SchedulerMetrics; fromSource: (peer: Peer, digest: string) => void } {
  const random = seededRandom(3)
  const scheduling = new Scheduling(
    { evaluator: new WeightedEvaluator(), random, clock: r.clock, connectedSeedHosts: () => r.store.connectedSeedHosts(), logger: silentLogger() },
    { candidateParentLimit: 4, filterParentLimit: 15, retryBackToSourceLimit: 4, retryLimit: 5, backToSourceCount: 200, seedWaitTimeoutMs: 30_000 },
  )
  const metrics = new SchedulerMetrics(new Registry(), { hosts: () => 0, tasks: () => 0, peers: () => 0 })
  const runner = new ScheduleRunner({ scheduling, metrics, recorder: r.recorder, clock: r.clock, logger: silentLogger(), random }, { retryIntervalMs: 500 })
  // Flushed by the test, when it chooses.
  const announcer = new PieceAnnouncer({ defer: () => undefined })
  const events = new PeerEvents({ store: r.store, runner, announcer, metrics, logger: silentLogger(), recorder: r.recorder, clock: r.clock }, { offers: { maxParents: 16, maxChildren: 8 } })
  const fromSource = (peer: Peer, digest: string): void => {
    events.handle(peer, { $case: 'piecesFinished', value: { pieces: [{ piece: { number: 0, offset: 0, length: 4, digest }, parentPeerId: '', costMs: 1, content: Buffer.alloc(0) }] } })
  }
  return { events, runner, announcer, metrics, fromSource }
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

/** The kinds of responses a peer was sent, in order. */
function told(peer: Peer): string[] {
  return (peer.stream as RecordingSink<AnnouncePeerResponse>).messages.map((message) => message.response?.$case ?? 'nothing')
}

function sourceFailure(peer: Peer): unknown {
  const last = (peer.stream as RecordingSink<AnnouncePeerResponse>).messages.at(-1)?.response
  return last?.$case === 'sourceFailed' ? last.value : undefined
}

describe('PeerEvents: a seed peer that fails', TEST, () => {
  const URL = 'http://origin.test/file'
  const failure = (code: string, sourceStatus = 0): PeerFailed => ({ reason: `${code} ${sourceStatus}`, code, sourceStatus })

  /** A seed host, and peers waiting for it to fetch the task: one asked the same as the seed, the others not. */
  function waitingForSeed(): { r: Resources; h: ReturnType<typeof harness>; seed: Peer; same: Peer; otherHeaders: Peer; noSource: Peer } {
    const r = new Resources()
    const h = harness(r)
    const seedHost = r.host('seed-host', { seed: true })
    const same = r.peer('same', r.host('h-same'), { download: { url: URL, headers: { Authorization: 'Bearer a' } } })
    const otherHeaders = r.peer('other', r.host('h-other'), { download: { url: URL, headers: { authorization: 'Bearer b' } } })
    const noSource = r.peer('no-source', r.host('h-no-source'), { download: { url: URL, priority: 2 } })
    for (const peer of [same, otherHeaders, noSource]) h.runner.run(peer)
    assert.deepEqual([same, otherHeaders, noSource].map(told), [[], [], []], 'all wait for the seed')
    const seed = r.peer('seed', seedHost, { download: { url: URL, headers: { authorization: 'Bearer a' } }, state: 'back-to-source' })
    return { r, h, seed, same, otherHeaders, noSource }
  }

  it('tells the origin\'s 404 at once to the peers that asked the same, and sends the others back to source at once', TEST, async () => {
    const { h, seed, same, otherHeaders, noSource } = waitingForSeed()
    h.events.handle(seed, { $case: 'peerFailed', value: failure('SOURCE_STATUS', 404) })
    assert.deepEqual(told(same), ['sourceFailed'])
    assert.deepEqual(sourceFailure(same), { code: 'SOURCE_STATUS', sourceStatus: 404, reason: 'SOURCE_STATUS 404' })
    assert.equal(same.state, 'failed')
    assert.deepEqual(told(otherHeaders), ['needBackToSource'], 'other credentials may get another answer: it asks the origin itself')
    assert.deepEqual(told(noSource), [], 'priority 2 may not go to the source: it waits on for a parent')
    const counted = await h.metrics.sourceFailuresRelayed.get()
    assert.deepEqual(counted.values.map((v) => [v.labels.code, v.value]), [['SOURCE_STATUS', 1], ['DIGEST_MISMATCH', 0]])
  })

  for (const [name, value] of [
    ['a 503, which a retry may change', failure('SOURCE_STATUS', 503)],
    ['a 429', failure('SOURCE_STATUS', 429)],
    ['SOURCE_NOT_ALLOWED (the seed\'s own address policy)', failure('SOURCE_NOT_ALLOWED')],
    ['a report from an older daemon, without a code', failure('')],
  ] as const) {
    it(`sends every waiting peer that may back to source at once after ${name}`, TEST, () => {
      const { h, seed, same, otherHeaders, noSource } = waitingForSeed()
      h.events.handle(seed, { $case: 'peerFailed', value })
      assert.deepEqual(told(same), ['needBackToSource'])
      assert.deepEqual(told(otherHeaders), ['needBackToSource'])
      assert.deepEqual(told(noSource), [])
    })
  }

  it('fails the running children that expect the same digest when the seed\'s content fails it, and leaves the rest', TEST, () => {
    const r = new Resources()
    const h = harness(r)
    const digest = `sha256:${'1'.repeat(64)}`
    const seed = r.peer('seed', r.host('seed-host', { seed: true }), { download: { url: URL, digest }, pieces: [0], state: 'back-to-source' })
    const parent = r.peer('parent', r.host('h-parent'), { pieces: [0], state: 'running' })
    const sameDigest = r.peer('same', r.host('h-same'), { download: { url: URL, digest }, state: 'running' })
    const otherDigest = r.peer('other', r.host('h-other'), { download: { url: URL, digest: `sha256:${'2'.repeat(64)}` }, state: 'running' })
    for (const child of [sameDigest, otherDigest]) {
      r.task().graph.addEdge(seed.id, child.id)
      r.task().graph.addEdge(parent.id, child.id)
    }
    h.events.handle(seed, { $case: 'peerFailed', value: failure('DIGEST_MISMATCH') })
    assert.deepEqual(told(sameDigest), ['sourceFailed'])
    assert.equal(sameDigest.state, 'failed')
    assert.deepEqual(told(otherDigest), [], 'it expects other content, and still has a parent')
    assert.equal(otherDigest.state, 'running')
  })

  it('ignores the failure of a normal peer, and of a seed distrusted for the task', TEST, () => {
    const r = new Resources()
    const h = harness(r)
    const seedHost = r.host('seed-host', { seed: true })
    const child = r.peer('child', r.host('h-child'), { download: { url: URL } })
    h.runner.run(child)
    const normal = r.peer('normal', r.host('h-normal'), { download: { url: URL }, state: 'back-to-source' })
    h.events.handle(normal, { $case: 'peerFailed', value: failure('SOURCE_STATUS', 404) })
    assert.deepEqual(told(child), [], 'only a seed host speaks for the origin')
    const seed = r.peer('seed', seedHost, { download: { url: URL }, state: 'back-to-source' })
    r.task().distrustedHosts.add(seedHost.id)
    h.events.handle(seed, { $case: 'peerFailed', value: failure('SOURCE_STATUS', 404) })
    assert.deepEqual(told(child), [], 'nor does a seed whose digests for the task failed')
  })
})

describe('PeerEvents: a report of several pieces', TEST, () => {
  const digestOf = (number: number): string => String(number + 1).repeat(64).slice(0, 64)
  /** A `pieces_finished` of `numbers`, from the source or from `parentPeerId`. */
  function report(numbers: readonly number[], parentPeerId = '', digest = digestOf): PeerEvent {
    return {
      $case: 'piecesFinished',
      value: { pieces: numbers.map((number) => ({ piece: { number, offset: number * 4, length: 4, digest: digest(number) }, parentPeerId, costMs: 1, content: Buffer.alloc(0) })) },
    }
  }
  function messages(peer: Peer): AnnouncePeerResponse['response'][] {
    return (peer.stream as RecordingSink<AnnouncePeerResponse>).messages.map((message) => message.response)
  }

  it('records every piece, offers the peer as a parent once, and tells each child in one message with each digest once', TEST, () => {
    const r = new Resources()
    const h = harness(r)
    const parent = r.peer('parent', r.host('h-parent'), { state: 'back-to-source' })
    parent.backToSourceGranted = true
    const child = r.peer('child', r.host('h-child'), { state: 'running' })
    r.task().graph.addEdge(parent.id, child.id)
    const orphan = r.peer('orphan', r.host('h-orphan'), { state: 'running' })

    h.events.handle(parent, report([0, 1, 2]))
    assert.deepEqual([...parent.finishedPieces], [0, 1, 2])
    assert.deepEqual(told(orphan), ['normalTask'], 'offered as a new parent once for the whole report')
    const offer = messages(orphan)[0]
    assert.equal(offer?.$case, 'normalTask')
    assert.deepEqual(offer.value.parents.map((p) => [p.peerId, p.pieceNumbers]), [['parent', [0, 1, 2]]])
    assert.deepEqual(offer.value.digests, [0, 1, 2].map((number) => ({ number, digest: digestOf(number) })))
    assert.deepEqual(told(child), [], 'nothing before the turn ends')

    h.announcer.flush()
    assert.deepEqual(messages(child), [{ $case: 'piecesAvailable', value: { parents: [{ peerId: 'parent', pieceNumbers: [0, 1, 2] }], digests: [0, 1, 2].map((number) => ({ number, digest: digestOf(number) })) } }])
    assert.deepEqual(told(orphan), ['normalTask'], 'it was not a child when the pieces were announced, and its offer listed them')

    h.events.handle(parent, report([3]))
    h.events.handle(parent, report([4]))
    h.announcer.flush()
    const later = [messages(child).at(-1), messages(orphan).at(-1)]
    for (const message of later) {
      assert.deepEqual(message, { $case: 'piecesAvailable', value: { parents: [{ peerId: 'parent', pieceNumbers: [3, 4] }], digests: [3, 4].map((number) => ({ number, digest: digestOf(number) })) } })
    }
    h.announcer.flush()
    assert.equal(messages(child).length, 2, 'a flush with nothing queued sends nothing')
  })

  it('sends a digest to every running peer the turn the task learns it, once, riding on a message the peer gets anyway', TEST, () => {
    const r = new Resources()
    const h = harness(r)
    const seed = r.peer('seed', r.host('h-seed', { seed: true }), { state: 'back-to-source' })
    const child = r.peer('child', r.host('h-child'), { state: 'running' })
    const grandchild = r.peer('grandchild', r.host('h-grandchild'), { state: 'running' })
    const waiting = r.peer('waiting', r.host('h-waiting'), { state: 'pending' })
    r.task().graph.addEdge(seed.id, child.id)
    r.task().graph.addEdge(child.id, grandchild.id)
    h.events.handle(seed, report([0, 1]))
    h.announcer.flush()
    const digests = [0, 1].map((number) => ({ number, digest: digestOf(number) }))
    assert.deepEqual(messages(child), [{ $case: 'piecesAvailable', value: { parents: [{ peerId: 'seed', pieceNumbers: [0, 1] }], digests } }], 'one message: the pieces and their digests')
    assert.deepEqual(messages(grandchild), [{ $case: 'piecesAvailable', value: { parents: [], digests } }], 'its parent will announce these pieces itself')
    assert.deepEqual(told(waiting), [], 'a peer not downloading from parents waits for its offer')

    h.events.handle(child, report([0], 'seed'))
    h.announcer.flush()
    assert.deepEqual(messages(grandchild).at(-1), { $case: 'piecesAvailable', value: { parents: [{ peerId: 'child', pieceNumbers: [0] }], digests: [] } }, 'never the same digest twice')
    h.events.handle(seed, report([1]))
    h.announcer.flush()
    assert.equal(messages(grandchild).length, 2, 'a repeated report teaches the task nothing')
  })

  it('blocklists the parent of a piece that fails its digest and keeps the report\'s other pieces', TEST, () => {
    const r = new Resources()
    const h = harness(r)
    const seed = r.peer('seed', r.host('h-seed', { seed: true }), { state: 'back-to-source' })
    h.events.handle(seed, report([0, 1]))
    const child = r.peer('child', r.host('h-child'), { state: 'running' })
    r.task().graph.addEdge(seed.id, child.id)
    h.events.handle(child, report([0, 1], 'seed', (number) => (number === 1 ? FORGED : digestOf(number))))
    assert.deepEqual([...child.finishedPieces], [0])
    assert.ok(child.blocklist.has(seed.id))
    assert.equal(r.task().graph.hasEdge(seed.id, child.id), false)
  })

  it('refuses a whole report with one malformed piece, before applying any of it', TEST, () => {
    const r = new Resources()
    const h = harness(r)
    const seed = r.peer('seed', r.host('h-seed', { seed: true }), { state: 'back-to-source' })
    assert.throws(() => h.events.handle(seed, report([0, 1], '', (number) => (number === 1 ? 'not-hex' : digestOf(number)))), /digest must be 64 lowercase hex/)
    assert.equal(seed.finishedPieces.size, 0)
    assert.equal(r.task().piece(0), undefined)
    assert.throws(() => h.events.handle(seed, report([])), /no piece/)
  })

  it('leaves out what no longer stands when the turn ends: a blocklisted parent, a child that finished, dropped digests', TEST, () => {
    const r = new Resources()
    const h = harness(r)
    const parent = r.peer('parent', r.host('h-parent', { seed: true }), { state: 'back-to-source' })
    const kept = r.peer('kept', r.host('h-kept'), { state: 'running' })
    const blocking = r.peer('blocking', r.host('h-blocking'), { state: 'running' })
    const finishing = r.peer('finishing', r.host('h-finishing'), { state: 'running' })
    for (const child of [kept, blocking, finishing]) r.task().graph.addEdge(parent.id, child.id)
    h.events.handle(parent, report([0]))
    h.events.handle(blocking, { $case: 'reschedule', value: { blocklist: ['parent'], reason: 'test' } })
    h.events.handle(finishing, { $case: 'peerFinished', value: { contentLength: 4, pieceCount: 1 } })
    h.announcer.flush()
    assert.deepEqual(told(kept), ['piecesAvailable'])
    const namingParents = (peer: Peer): unknown[] => messages(peer).filter((message) => message?.$case === 'piecesAvailable' && message.value.parents.length > 0)
    assert.deepEqual(namingParents(blocking), [])
    assert.ok(!told(finishing).includes('piecesAvailable'))

    // After the task's digests are dropped, the next trusted ones go to each child again.
    h.events.handle(kept, { $case: 'contentDigestMismatch', value: { expected: 'sha256:aa', actual: 'sha256:bb' } })
    const voucher = r.peer('voucher', r.host('h-voucher', { seed: true }), { state: 'back-to-source' })
    r.task().graph.addEdge(voucher.id, kept.id)
    h.events.handle(voucher, report([0], '', () => REAL))
    h.announcer.flush()
    assert.deepEqual(messages(kept).at(-1), { $case: 'piecesAvailable', value: { parents: [{ peerId: 'voucher', pieceNumbers: [0] }], digests: [{ number: 0, digest: REAL }] } })
  })
})
