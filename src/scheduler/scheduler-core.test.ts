import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { describe, it } from 'node:test'
import { InstantClock } from '../common/instant-clock.js'
import { silentLogger } from '../common/logger.js'
import type { AnnounceHostResponse, AnnouncePeerRequest, AnnouncePeerResponse, Host, Piece } from '../protocol/generated/damselfly/scheduler/v1/scheduler.js'
import { SCHEDULER_PROTOCOL_REVISION } from '../protocol/scheduler-protocol.js'
import { taskIdFor } from '../protocol/task-id.js'
import { download, RecordingSink, seededRandom } from './resource-fixtures.js'
import { SchedulerCore } from './scheduler-core.js'

const TEST = { timeout: 10_000 }
const URL = 'http://origin.test/core'
const TASK_ID = taskIdFor({ url: URL, filteredQueryParams: [] })

const HOST: Host = {
  id: '', ip: '10.0.0.1', hostname: '', uploadPort: 65002, idc: '', location: '', seed: false, disableShared: false,
  concurrentUploadLimit: 10, concurrentUploadCount: 0, uploadCapacityBytesPerSecond: 0, uploadTls: false,
}

function piece(number: number): Piece {
  return { number, offset: number * 4, length: 4, digest: createHash('sha256').update(`piece ${number}`).digest('hex') }
}

function request(hostId: string, peerId: string, body: AnnouncePeerRequest['request']): AnnouncePeerRequest {
  return { hostId, taskId: TASK_ID, peerId, request: body }
}

function register(hostId: string, peerId: string): AnnouncePeerRequest {
  return request(hostId, peerId, {
    $case: 'register',
    value: { download: download({ url: URL }), pieces: [], contentLength: 0, contentLengthKnown: false, protocolRevision: SCHEDULER_PROTOCOL_REVISION },
  })
}

/** A core on an instant clock whose deferred work runs only when the test says. */
function core(settings: ConstructorParameters<typeof SchedulerCore>[0]['settings'] = {}): { core: SchedulerCore; runDeferred: () => void } {
  const deferred: Array<() => void> = []
  const built = new SchedulerCore({ clock: new InstantClock(), logger: silentLogger(), random: seededRandom(7), defer: (run) => deferred.push(run), settings })
  return { core: built, runDeferred: () => deferred.splice(0).forEach((run) => run()) }
}

const answers = (sink: RecordingSink<AnnouncePeerResponse>): string[] => sink.messages.map((message) => message.response?.$case ?? 'none')

describe('SchedulerCore: the scheduler without a transport', TEST, () => {
  it('sends the first peer to the source, offers it to the next, and announces its later pieces through the injected defer', TEST, async () => {
    const { core: scheduler, runDeferred } = core()
    for (const id of ['host-a', 'host-b']) scheduler.announceHost({ host: { ...HOST, id, hostname: id }, report: undefined }, new RecordingSink<AnnounceHostResponse>())
    const sinkA = new RecordingSink<AnnouncePeerResponse>()
    const a = await scheduler.register(register('host-a', 'a'), sinkA)
    assert.deepEqual(answers(sinkA), ['registered', 'needBackToSource'])
    scheduler.handle(a, request('host-a', 'a', { $case: 'backToSourceStarted', value: { contentLength: 8, contentLengthKnown: true, pieceLength: 4 } }))
    scheduler.handle(a, request('host-a', 'a', { $case: 'piecesFinished', value: { pieces: [{ piece: piece(0), parentPeerId: '', costMs: 1, content: Buffer.alloc(0) }] } }))

    const sinkB = new RecordingSink<AnnouncePeerResponse>()
    const b = await scheduler.register(register('host-b', 'b'), sinkB)
    const offer = sinkB.messages.at(-1)?.response
    assert.equal(offer?.$case, 'normalTask')
    assert.deepEqual(offer.value.parents.map((parent) => [parent.peerId, parent.pieceNumbers]), [['a', [0]]])

    scheduler.handle(a, request('host-a', 'a', { $case: 'piecesFinished', value: { pieces: [{ piece: piece(1), parentPeerId: '', costMs: 1, content: Buffer.alloc(0) }] } }))
    assert.equal(sinkB.messages.at(-1)?.response?.$case, 'normalTask', 'nothing is announced before the deferred flush')
    runDeferred()
    const available = sinkB.messages.at(-1)?.response
    assert.equal(available?.$case, 'piecesAvailable')
    assert.deepEqual(available.value.parents, [{ peerId: 'a', pieceNumbers: [1] }])

    scheduler.streamEnded(b)
    assert.equal(scheduler.store.peers.has(b.id), false, 'an unfinished peer leaves with its stream')
    scheduler.leaveHost(a.hostId)
    assert.equal(scheduler.store.peers.size, 0)
    await scheduler.stop()
  })

  it('refuses a report that names another peer, and a second register', TEST, async () => {
    const { core: scheduler } = core()
    scheduler.announceHost({ host: { ...HOST, id: 'host-a', hostname: 'host-a' }, report: undefined }, new RecordingSink<AnnounceHostResponse>())
    const a = await scheduler.register(register('host-a', 'a'), new RecordingSink<AnnouncePeerResponse>())
    assert.throws(() => scheduler.handle(a, register('host-a', 'a')), /already registered/)
    assert.throws(() => scheduler.handle(a, request('host-a', 'other', { $case: 'peerFinished', value: { contentLength: 0, pieceCount: 0 } })), /belongs to peer a/)
    await scheduler.stop()
  })

  it('lets `admit` refuse a host before it is known, and caps its upload limit by the cluster\'s', TEST, () => {
    const { core: scheduler } = core()
    assert.throws(() => scheduler.announceHost({ host: { ...HOST, id: 'host-a', hostname: 'host-a' }, report: undefined }, new RecordingSink(), () => {
      throw new Error('refused')
    }), /refused/)
    assert.equal(scheduler.store.hosts.size, 0)
    scheduler.cluster.apply({ candidateParentLimit: 4, filterParentLimit: 15, seedPeerLoadLimit: 0, peerLoadLimit: 3, blocklist: undefined, version: 1 })
    const host = scheduler.announceHost({ host: { ...HOST, id: 'host-a', hostname: 'host-a' }, report: undefined }, new RecordingSink())
    assert.equal(host.load.concurrentUploadLimit, 3)
  })

  it('waits for a host up to the configured hostWaitTimeout, on its clock', TEST, async () => {
    const clock = new InstantClock()
    const scheduler = new SchedulerCore({ clock, logger: silentLogger(), settings: { hostWaitTimeout: 1_234 } })
    await assert.rejects(scheduler.register(register('host-x', 'x'), new RecordingSink()), /has not announced/)
    assert.deepEqual(clock.sleeps, [1_234])
  })
})
