import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { EventEmitter } from 'node:events'
import { after, before, describe, it } from 'node:test'
import { credentials, status, type ClientDuplexStream, type ServiceError } from '@grpc/grpc-js'
import { InstantClock } from '../common/instant-clock.js'
import { silentLogger } from '../common/logger.js'
import { SCHEDULER_PROTOCOL_REVISION } from '../protocol/scheduler-protocol.js'
import { taskIdFor } from '../protocol/task-id.js'
import {
  SchedulerServiceClient,
  type AnnounceHostRequest,
  type AnnounceHostResponse,
  type AnnouncePeerRequest,
  type AnnouncePeerResponse,
  type Host,
  type Piece,
} from '../protocol/generated/damselfly/scheduler/v1/scheduler.js'
import { resolveSchedulerConfig } from './config.js'
import { download, RecordingSink, seededRandom, waitFor } from './resource-fixtures.js'
import { Scheduler } from './scheduler.js'
import { SchedulerCore } from './scheduler-core.js'
import { SchedulerService } from './scheduler-service.js'

const TEST = { timeout: 20_000 }

/** One client stream with everything it received. */
class Recorded<Req, Res> {
  readonly messages: Res[] = []
  error: ServiceError | undefined
  ended = false
  constructor(readonly stream: ClientDuplexStream<Req, Res>) {
    stream.on('data', (message: Res) => this.messages.push(message))
    stream.on('error', (error: ServiceError) => (this.error = error))
    stream.on('end', () => (this.ended = true))
  }
  send(message: Req): void {
    this.stream.write(message)
  }
  next<K>(what: string, pick: (message: Res) => K | undefined, after = 0): Promise<K> {
    return waitFor(what, () => {
      for (const message of this.messages.slice(after)) {
        const picked = pick(message)
        if (picked !== undefined) return picked
      }
      if (this.error !== undefined) throw new Error(`stream failed while waiting for ${what}: ${this.error.details}`)
      return undefined
    })
  }
}

type PeerStream = Recorded<AnnouncePeerRequest, AnnouncePeerResponse>
type Response = NonNullable<AnnouncePeerResponse['response']>
type ResponseValue<C extends Response['$case']> = Extract<Response, { $case: C }>['value']
/** Picks the value of one kind of response. */
function is<C extends Response['$case']>(c: C): (m: AnnouncePeerResponse) => ResponseValue<C> | undefined {
  return (m) => {
    const response: { $case: string; value: unknown } | undefined = m.response
    return response?.$case === c ? (response.value as ResponseValue<C>) : undefined
  }
}

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex')
/** The id of the download `registerPeer` names for `name`: the scheduler checks it. */
const taskId = (name: string): string => taskIdFor({ url: `http://origin.test/${name}`, filteredQueryParams: [] })
function piece(number: number, text: string): Piece {
  return { number, offset: number * 4, length: 4, digest: sha256(text) }
}
/** A `pieces_finished` of `pieces`, from the source or from `parentPeerId`. */
function finished(pieces: readonly Piece[], parentPeerId = ''): AnnouncePeerRequest['request'] {
  return { $case: 'piecesFinished', value: { pieces: pieces.map((p) => ({ piece: p, parentPeerId, costMs: 3, content: Buffer.alloc(0) })) } }
}
/** A host as a daemon announces it, with `id` and `hostname` to fill in. */
const HOST: Host = {
  id: '', ip: '127.0.0.1', hostname: '', uploadPort: 65002, idc: '', location: '', seed: false, disableShared: false,
  concurrentUploadLimit: 10, concurrentUploadCount: 0, uploadCapacityBytesPerSecond: 0, uploadTls: false,
}
const REGISTER = { pieces: [], contentLength: 0, contentLengthKnown: false, protocolRevision: SCHEDULER_PROTOCOL_REVISION }

describe('SchedulerService over gRPC', TEST, () => {
  let scheduler: Scheduler
  let client: SchedulerServiceClient
  const streams: Array<{ stream: { cancel(): void } }> = []
  /** b2 on t2, a child of a2; set by the pieces_available test, used by the bad-content one. */
  let b2: PeerStream | undefined
  const b2Stream = (): PeerStream => {
    assert.ok(b2 !== undefined, 'the pieces_available test runs first')
    return b2
  }

  before(async () => {
    const config = resolveSchedulerConfig({
      flags: {
        server: { listenIP: '127.0.0.1', port: 0 },
        metrics: { port: 0 },
        scheduler: { retryInterval: '20ms', retryLimit: 50, retryBackToSourceLimit: 50 },
        // Scheduling over the wire, many hosts on one client: who may say what is scheduler-trust.test.ts's subject.
        security: { insecure: true },
      },
    })
    scheduler = new Scheduler(config, { logger: silentLogger() })
    await scheduler.start()
    client = new SchedulerServiceClient(scheduler.address!, credentials.createInsecure())
  })

  after(async () => {
    for (const { stream } of streams) stream.cancel()
    client.close()
    await scheduler.stop()
  })

  async function announceHost(id: string, extra: Partial<Host> = {}): Promise<Recorded<AnnounceHostRequest, AnnounceHostResponse>> {
    const recorded = new Recorded(client.announceHost())
    streams.push(recorded)
    recorded.send({
      host: { ...HOST, id, hostname: id, ...extra },
      report: undefined,
    })
    await waitFor(`host ${id}`, () => scheduler.store.hosts.get(id as never)?.stream)
    return recorded
  }

  function registerPeer(hostId: string, task: string, peerId: string, options: Partial<Parameters<typeof download>[0]> = {}): PeerStream {
    const recorded = new Recorded(client.announcePeer())
    streams.push(recorded)
    recorded.send({
      hostId, taskId: taskId(task), peerId,
      request: { $case: 'register', value: { download: download({ url: `http://origin.test/${task}`, ...options }), ...REGISTER } },
    })
    return recorded
  }

  function report(stream: PeerStream, hostId: string, task: string, peerId: string, request: AnnouncePeerRequest['request']): void {
    stream.send({ hostId, taskId: taskId(task), peerId, request })
  }

  async function counter(name: string, labels = ''): Promise<number> {
    const text = await scheduler.registry.metrics()
    const line = text.split('\n').find((l) => l.startsWith(`${name}${labels} `))
    assert.ok(line !== undefined, `the scheduler exports ${name}${labels}`)
    return Number(line.split(' ')[1])
  }

  it('sends a peer without parents or seed hosts back to source', TEST, async () => {
    await announceHost('host-a')
    const a1 = registerPeer('host-a', 't1', 'a1')
    const reply = await a1.next('need back to source', is('needBackToSource'))
    assert.match(reply.reason, /no seed/)
    assert.equal(await counter('damselfly_scheduler_back_to_source_total'), 1)
    // Its pieces from the source become the authority, and it stays a parent after it finishes and closes its stream.
    report(a1, 'host-a', 't1', 'a1', { $case: 'backToSourceStarted', value: { contentLength: 8, contentLengthKnown: true, pieceLength: 4 } })
    report(a1, 'host-a', 't1', 'a1', finished([piece(0, 'abcd'), piece(1, 'efgh')]))
    report(a1, 'host-a', 't1', 'a1', { $case: 'peerFinished', value: { contentLength: 8, pieceCount: 2 } })
    a1.stream.end()
    await waitFor('a1 finished', () => (scheduler.store.peers.get('a1' as never)?.state === 'succeeded' && a1.ended ? true : undefined))
  })

  it('offers the finished peer as parent with both pieces and their digests', TEST, async () => {
    await announceHost('host-b')
    const b1 = registerPeer('host-b', 't1', 'b1')
    const normal = await b1.next('normal task', is('normalTask'))
    assert.deepEqual(normal.task, { contentLength: 8, pieceLength: 4, pieceCount: 2 })
    assert.equal(normal.parents.length, 1)
    const [parent] = normal.parents
    assert.equal(parent?.peerId, 'a1')
    assert.equal(parent?.hostId, 'host-a')
    assert.equal(parent?.uploadPort, 65002)
    assert.deepEqual(parent?.pieceNumbers, [0, 1])
    assert.deepEqual(normal.digests, [{ number: 0, digest: sha256('abcd') }, { number: 1, digest: sha256('efgh') }])
  })

  it('pushes pieces_available to a child when its parent finishes a new piece', TEST, async () => {
    const a2 = registerPeer('host-a', 't2', 'a2')
    await a2.next('back to source', is('needBackToSource'))
    report(a2, 'host-a', 't2', 'a2', { $case: 'backToSourceStarted', value: { contentLength: 8, contentLengthKnown: true, pieceLength: 4 } })
    report(a2, 'host-a', 't2', 'a2', finished([piece(0, 'ijkl')]))
    await waitFor('a2 piece 0', () => (scheduler.store.peers.get('a2' as never)?.finishedPieces.has(0) === true ? true : undefined))
    b2 = registerPeer('host-b', 't2', 'b2', { priority: 3 })
    const normal = await b2.next('normal task', is('normalTask'))
    assert.deepEqual(normal.parents.map((p) => [p.peerId, p.pieceNumbers]), [['a2', [0]]])
    assert.deepEqual(normal.digests, [{ number: 0, digest: sha256('ijkl') }])
    report(a2, 'host-a', 't2', 'a2', finished([piece(1, 'mnop')]))
    const available = await b2.next('pieces available', is('piecesAvailable'))
    assert.deepEqual(available, { parents: [{ peerId: 'a2', pieceNumbers: [1] }], digests: [{ number: 1, digest: sha256('mnop') }] })
  })

  it('blocklists a parent for the child that got bad content from it', TEST, async () => {
    const before = await counter('damselfly_scheduler_blocklisted_parents_total', '{reason="bad_content"}')
    // b2 reports piece 1 from a2 with a digest that differs from the record.
    report(b2Stream(), 'host-b', 't2', 'b2', finished([piece(1, 'forged')], 'a2'))
    await waitFor('b2 blocklists a2', () => (scheduler.store.peers.get('b2' as never)?.blocklist.has('a2' as never) === true ? true : undefined))
    assert.equal(scheduler.store.peers.get('b2' as never)?.finishedPieces.has(1), false)
    const seen = b2Stream().messages.length
    report(b2Stream(), 'host-b', 't2', 'b2', { $case: 'reschedule', value: { blocklist: [], reason: 'bad piece' } })
    await b2Stream().next('back to source without a2', is('needBackToSource'), seen)

    // A piece_failed with bad_content does the same for another child.
    await announceHost('host-c')
    const c2 = registerPeer('host-c', 't2', 'c2', { priority: 3 })
    const normal = await c2.next('normal task', is('normalTask'))
    assert.deepEqual(normal.parents.map((p) => p.peerId), ['a2'])
    report(c2, 'host-c', 't2', 'c2', { $case: 'pieceFailed', value: { number: 0, parentPeerId: 'a2', badContent: true, reason: 'digest mismatch' } })
    const seenC = c2.messages.length
    report(c2, 'host-c', 't2', 'c2', { $case: 'reschedule', value: { blocklist: [], reason: 'bad piece' } })
    await c2.next('back to source without a2', is('needBackToSource'), seenC)
    assert.equal(scheduler.store.peers.get('a2' as never)?.badContentCount, 2)
    assert.equal(await counter('damselfly_scheduler_blocklisted_parents_total', '{reason="bad_content"}'), before + 2)
  })

  it('fails a priority 2 peer that nobody can serve', TEST, async () => {
    const b4 = registerPeer('host-b', 't4', 'b4', { priority: 2 })
    const failed = await b4.next('schedule failed', is('scheduleFailed'))
    assert.match(failed.reason, /priority 2/)
    assert.ok(!b4.messages.some((m) => m.response?.$case === 'needBackToSource'))
  })

  it('asks a seed host to fetch a fresh task, then offers the seed as parent', TEST, async () => {
    const seed = await announceHost('seed-host', { seed: true })
    const c3 = registerPeer('host-c', 't3', 'c3', { priority: 6, headers: { authorization: 'Bearer secret' } })
    const seedTask = await seed.next('seed task', (m) => (m.command?.$case === 'seedTask' ? m.command.value : undefined))
    assert.deepEqual(c3.messages.map((m) => m.response), [{ $case: 'registered', value: { protocolRevision: SCHEDULER_PROTOCOL_REVISION } }], 'the registration is acknowledged while the decision waits for the seed')
    assert.equal(seedTask.url, 'http://origin.test/t3')
    assert.deepEqual(seedTask.headers, { authorization: 'Bearer secret' })
    assert.equal(await counter('damselfly_scheduler_seed_trigger_total'), 1)

    const s3 = registerPeer('seed-host', 't3', 's3', seedTask)
    await s3.next('seed goes back to source', is('needBackToSource'))
    report(s3, 'seed-host', 't3', 's3', { $case: 'backToSourceStarted', value: { contentLength: 8, contentLengthKnown: true, pieceLength: 4 } })
    report(s3, 'seed-host', 't3', 's3', finished([piece(0, 'qrst')]))
    const normal = await c3.next('normal task from the seed', is('normalTask'))
    assert.deepEqual(normal.parents.map((p) => [p.peerId, p.seed, p.pieceNumbers]), [['s3', true, [0]]])
    assert.deepEqual(normal.digests, [{ number: 0, digest: sha256('qrst') }])
    assert.ok(!c3.messages.some((m) => m.response?.$case === 'needBackToSource'))
  })

  it('counts on no more uploads of a host than its cluster\'s load limit for its kind, from the next announcement on', TEST, async () => {
    const limits = (seedPeerLoadLimit: number, peerLoadLimit: number): void => scheduler.settings.apply({
      candidateParentLimit: 4, filterParentLimit: 15, seedPeerLoadLimit, peerLoadLimit, blocklist: { applications: [], urls: [], tags: [] }, version: Date.now(),
    })
    const uploadLimitOf = (id: string): number | undefined => scheduler.store.hosts.get(id as never)?.load.concurrentUploadLimit
    limits(7, 3)
    try {
      await announceHost('capped-normal', { concurrentUploadLimit: 10 })
      await announceHost('capped-seed', { concurrentUploadLimit: 10, seed: true })
      await announceHost('modest-normal', { concurrentUploadLimit: 2 })
      assert.deepEqual([uploadLimitOf('capped-normal'), uploadLimitOf('capped-seed'), uploadLimitOf('modest-normal')], [3, 7, 2])
    } finally {
      limits(0, 0)
    }
    await announceHost('uncapped', { concurrentUploadLimit: 10 })
    assert.equal(uploadLimitOf('uncapped'), 10, 'a limit of 0 caps nothing')
  })

  it('ends a stream with INVALID_ARGUMENT on a first message other than register, or malformed input', TEST, async () => {
    const bad = new Recorded(client.announcePeer())
    streams.push(bad)
    bad.send({ hostId: 'host-a', taskId: taskId('t5'), peerId: 'x', request: { $case: 'peerFailed', value: { reason: 'nope', code: '', sourceStatus: 0 } } })
    const error = await waitFor('error', () => bad.error)
    assert.equal(error.code, status.INVALID_ARGUMENT)
    assert.match(error.details, /first message must be register/)

    const badId = new Recorded(client.announcePeer())
    streams.push(badId)
    badId.send({ hostId: 'host-a', taskId: 'not-a-task-id', peerId: 'x', request: { $case: 'register', value: { download: download(), ...REGISTER } } })
    assert.equal((await waitFor('error', () => badId.error)).code, status.INVALID_ARGUMENT)

    // A malformed report ends the stream, and the peer leaves.
    const d5 = registerPeer('host-b', 't5', 'd5', { priority: 2 })
    await waitFor('d5 registered', () => scheduler.store.peers.get('d5' as never))
    report(d5, 'host-b', 't5', 'd5', finished([{ number: 0, offset: 0, length: 4, digest: 'not-hex' }]))
    const error5 = await waitFor('error', () => d5.error)
    assert.equal(error5.code, status.INVALID_ARGUMENT)
    assert.match(error5.details, /digest must be 64 lowercase hex/)
    await waitFor('d5 left', () => (scheduler.store.peers.has('d5' as never) ? undefined : true))

    // A registration under one task id that names another download: a seed would fetch the other URL into this task.
    const swapped = new Recorded(client.announcePeer())
    streams.push(swapped)
    swapped.send({ hostId: 'host-a', taskId: taskId('t6'), peerId: 'y', request: { $case: 'register', value: { download: download({ url: 'http://origin.test/elsewhere' }), ...REGISTER } } })
    const swappedError = await waitFor('error', () => swapped.error)
    assert.equal(swappedError.code, status.INVALID_ARGUMENT)
    assert.match(swappedError.details, /is not the id of the download it names/)

    // A daemon of an older revision would misread every answer: it is told so, and goes elsewhere or to the source.
    const old = new Recorded(client.announcePeer())
    streams.push(old)
    old.send({ hostId: 'host-a', taskId: taskId('t8'), peerId: 'old', request: { $case: 'register', value: { download: download({ url: 'http://origin.test/t8' }), ...REGISTER, protocolRevision: 0 } } })
    const oldError = await waitFor('error', () => old.error)
    assert.equal(oldError.code, status.INVALID_ARGUMENT)
    assert.match(oldError.details, /revision 0 of the scheduler protocol, older than this scheduler's 1/)
    assert.deepEqual(old.messages, [])

    const badHost = new Recorded(client.announceHost())
    streams.push(badHost)
    badHost.send({ host: undefined, report: undefined })
    assert.equal((await waitFor('error', () => badHost.error)).code, status.INVALID_ARGUMENT)
  })

  it('takes a report only for the peer whose stream carries it', TEST, async () => {
    const d9 = registerPeer('host-b', 't9', 'd9', { priority: 2 })
    await waitFor('d9 registered', () => scheduler.store.peers.get('d9' as never))
    report(d9, 'host-b', 't9', 'someone-else', finished([piece(0, 'uvwx')]))
    const error = await waitFor('error', () => d9.error)
    assert.equal(error.code, status.INVALID_ARGUMENT)
    assert.match(error.details, /this stream belongs to peer d9, got someone-else/)
  })

  it('never takes a registering peer\'s claimed pieces, or its length, as the authority', TEST, async () => {
    await announceHost('claimer')
    const claimer = new Recorded(client.announcePeer())
    streams.push(claimer)
    claimer.send({
      hostId: 'claimer', taskId: taskId('t7'), peerId: 'claim',
      request: { $case: 'register', value: { download: download({ url: 'http://origin.test/t7' }), pieces: [piece(0, 'forged')], contentLength: 4, contentLengthKnown: true, protocolRevision: SCHEDULER_PROTOCOL_REVISION } },
    })
    const registered = await waitFor('claimer registered', () => scheduler.store.peers.get('claim' as never))
    const task = scheduler.store.tasks.get(taskId('t7') as never)
    assert.equal(task?.piece(0), undefined)
    assert.equal(task?.contentLengthBytes, undefined)
    assert.equal(registered.finishedPieces.size, 0, 'so no child is ever offered it for that piece')
  })

  it('forgets a host that leaves, and serves /metrics and /healthy', TEST, async () => {
    await new Promise<void>((resolve, reject) => client.leaveHost({ hostId: 'host-a' }, (error) => (error === null ? resolve() : reject(error))))
    assert.equal(scheduler.store.hosts.has('host-a' as never), false)
    assert.equal(scheduler.store.peers.has('a1' as never), false)
    const healthy = await fetch(`http://${scheduler.metricsAddress}/healthy`)
    assert.equal(await healthy.text(), 'OK')
    const metrics = await (await fetch(`http://${scheduler.metricsAddress}/metrics`)).text()
    assert.match(metrics, /damselfly_scheduler_schedule_duration_seconds_bucket/)
    assert.match(metrics, /damselfly_scheduler_peers \d+/)
  })

})

/** A server call of grpc-js as the service uses it, driven by the test: it emits the client's messages and records the answers. */
class FakeCall extends EventEmitter {
  readonly written: AnnouncePeerResponse[] = []
  writableEnded = false
  destroyed = false
  cancelled = false
  /** Called with each answer as it is written, to look at the scheduler at that moment. */
  onWrite: (message: AnnouncePeerResponse) => void = () => undefined
  write(message: AnnouncePeerResponse): boolean {
    this.written.push(message)
    this.onWrite(message)
    return true
  }
  end(): this {
    this.writableEnded = true
    return this
  }
  getAuthContext(): null {
    return null
  }
}

describe('SchedulerService: registrations before reports', TEST, () => {
  function service(): { core: SchedulerCore; handlers: ReturnType<SchedulerService['handlers']> } {
    const clock = new InstantClock()
    const core = new SchedulerCore({ clock, logger: silentLogger(), random: seededRandom(5), settings: { hostWaitTimeout: 1_000 } })
    const handlers = new SchedulerService({ core, clock, logger: silentLogger() }, { requireIdentity: false }).handlers()
    return { core, handlers }
  }
  /** Announces a host straight to the core, its announce stream a recording sink. */
  const host = (core: SchedulerCore, id: string): { id: string } => core.announceHost(
    { host: { ...HOST, id, hostname: id }, report: undefined },
    new RecordingSink<AnnounceHostResponse>(),
  )
  const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))
  const register = (hostId: string, peerId: string): AnnouncePeerRequest => ({
    hostId, taskId: taskId('ordered'), peerId, request: { $case: 'register', value: { download: download({ url: 'http://origin.test/ordered' }), ...REGISTER } },
  })

  it('answers a registration read in the same turn before the reports ahead of it, then applies them in order and ends the stream', TEST, async () => {
    const { core, handlers } = service()
    const [hostA, hostB] = [host(core, 'host-a'), host(core, 'host-b')]
    const a = new FakeCall()
    handlers.announcePeer(a as never)
    a.emit('data', register(hostA.id, 'a'))
    await turn()
    assert.equal(a.written.at(-1)?.response?.$case, 'needBackToSource', 'the first peer of the task goes to the source')
    const b = new FakeCall()
    let aWhenBWasAnswered: string | undefined
    b.onWrite = (message) => {
      const peerA = core.store.peers.get('a' as never)
      if (message.response?.$case !== 'registered') aWhenBWasAnswered ??= `${peerA?.state}, ${peerA?.finishedPieces.size} pieces, stream ${a.writableEnded ? 'ended' : 'open'}`
    }
    handlers.announcePeer(b as never)
    // One turn brings a's reports and its end, then b's registration, each read handled to its last microtask as a socket's is.
    const from = { hostId: hostA.id, taskId: taskId('ordered'), peerId: 'a' }
    a.emit('data', { ...from, request: { $case: 'backToSourceStarted', value: { contentLength: 8, contentLengthKnown: true, pieceLength: 4 } } })
    a.emit('data', { ...from, request: finished([piece(0, 'x'), piece(1, 'y')]) })
    a.emit('data', { ...from, request: { $case: 'peerFinished', value: { contentLength: 8, pieceCount: 2 } } })
    a.emit('end')
    for (let hop = 0; hop < 100; hop++) await Promise.resolve()
    b.emit('data', register(hostB.id, 'b'))
    await waitFor('b\'s decision', () => aWhenBWasAnswered)
    assert.equal(aWhenBWasAnswered, 'back-to-source, 0 pieces, stream open', 'b was answered before any of a\'s reports was applied, and before a\'s stream ended')
    await waitFor('a\'s end', () => (a.writableEnded ? true : undefined))
    const peerA = core.store.peers.get('a' as never)
    assert.equal(peerA?.state, 'succeeded')
    assert.deepEqual(peerA === undefined ? [] : [...peerA.finishedPieces], [0, 1])
  })
})
