import assert from 'node:assert/strict'
import { EventEmitter } from 'node:events'
import { describe, it } from 'node:test'
import type { ClientDuplexStream } from '@grpc/grpc-js'
import { silentLogger } from '../../common/logger.js'
import { ManualClock } from '../../common/manual-clock.js'
import { DamselflyError } from '../../protocol/damselfly-error.js'
import type { AnnouncePeerRequest, AnnouncePeerResponse } from '../../protocol/generated/damselfly/scheduler/v1/scheduler.js'
import type { HostId, PeerId, TaskId } from '../../protocol/ids.js'
import { SCHEDULER_PROTOCOL_REVISION } from '../../protocol/scheduler-protocol.js'
import { PeerSession, SESSION_CLOSED, type PieceReport } from './peer-session.js'

const TEST = { timeout: 5_000 }
const IDS = { hostId: 'host' as HostId, taskId: 'a'.repeat(64) as TaskId, peerId: 'peer' as PeerId }
const PARENT = 'parent' as PeerId

/** Lets every queued promise callback run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve()
}

/** The client half of an AnnouncePeer stream, keeping what was written. */
class FakeStream extends EventEmitter {
  readonly written: AnnouncePeerRequest[] = []
  ended = false
  cancelled = false
  write(request: AnnouncePeerRequest): boolean {
    assert.equal(this.ended, false, 'nothing is written after the end')
    this.written.push(request)
    return true
  }
  end(): void {
    this.ended = true
  }
  cancel(): void {
    this.cancelled = true
    this.ended = true
  }
  /** What was written, by kind; a batch of reports as the piece numbers it carries. */
  get kinds(): Array<string | number[]> {
    return this.written.map(({ request }) => (request?.$case === 'piecesFinished' ? request.value.pieces.map((finished) => finished.piece?.number ?? -1) : request?.$case ?? 'nothing'))
  }
}

function finished(number: number): PieceReport {
  return { piece: { number, offset: number * 4, length: 4, digest: 'd'.repeat(64) }, parentPeerId: PARENT, costMs: 1 }
}

function session(maxCount = 32): { stream: FakeStream; clock: ManualClock; peer: PeerSession } {
  const stream = new FakeStream()
  const clock = new ManualClock()
  const peer = new PeerSession(
    { stream: stream as unknown as ClientDuplexStream<AnnouncePeerRequest, AnnouncePeerResponse>, clock, logger: silentLogger() },
    { address: '127.0.0.1:8002', ids: IDS, reportBatching: { flushDelayMs: 5, maxCount } },
  )
  return { stream, clock, peer }
}

describe('PeerSession: reports of finished pieces', TEST, () => {
  it('gathers pieces into one pieces_finished, sent when the delay is over, with the peer\'s ids', TEST, async () => {
    const { stream, clock, peer } = session()
    peer.reportPiece(finished(0))
    peer.reportPiece(finished(1))
    assert.deepEqual(stream.kinds, [])
    clock.advance(5)
    await settle()
    assert.deepEqual(stream.kinds, [[0, 1]])
    assert.deepEqual({ ...stream.written[0], request: undefined }, { ...IDS, request: undefined })
  })

  it('sends a full batch at once', TEST, () => {
    const { stream, peer } = session(2)
    for (const number of [0, 1, 2]) peer.reportPiece(finished(number))
    assert.deepEqual(stream.kinds, [[0, 1]])
  })

  it('sends what waits before any other message, so peer_finished and peer_failed never overtake a report', TEST, () => {
    const { stream, peer } = session()
    peer.reportPiece(finished(0))
    peer.pieceFailed({ number: 1, parentPeerId: PARENT, badContent: false, reason: 'reset' })
    peer.reportPiece(finished(1))
    peer.peerFinished({ contentLengthBytes: 8, pieceCount: 2 })
    peer.peerFailed(new DamselflyError('INTERNAL', 'late'))
    assert.deepEqual(stream.kinds, [[0], 'pieceFailed', [1], 'peerFinished', 'peerFailed'])
  })

  it('loses nothing on close: what waits goes out, then the stream ends, and later reports are dropped', TEST, async () => {
    const { stream, clock, peer } = session()
    peer.reportPiece(finished(0))
    peer.reportPiece(finished(1))
    peer.close()
    assert.deepEqual(stream.kinds, [[0, 1]])
    assert.equal(stream.ended, true)
    peer.reportPiece(finished(2))
    peer.peerFinished({ contentLengthBytes: 12, pieceCount: 3 })
    peer.close()
    clock.advance(10)
    await settle()
    assert.deepEqual(stream.kinds, [[0, 1]])
  })

  it('writes nothing once the scheduler ended the stream', TEST, async () => {
    const { stream, clock, peer } = session()
    peer.reportPiece(finished(0))
    stream.emit('end')
    clock.advance(5)
    await settle()
    peer.peerFinished({ contentLengthBytes: 4, pieceCount: 1 })
    assert.deepEqual(stream.kinds, [])
    assert.equal(peer.closed, true)
  })
})

describe('PeerSession: the protocol at the edge', TEST, () => {
  it('writes requests as the protocol carries them, the register first with this build\'s revision', TEST, async () => {
    const { stream, clock, peer } = session()
    peer.register({
      download: { url: 'http://origin.test/f', headers: { authorization: 'Basic x' }, filteredQueryParams: ['ns'], priority: 3, disableBackToSource: false },
      heldPieces: [{ number: 2, offset: 8, length: 4, digest: 'e'.repeat(64) }],
      contentLengthBytes: undefined,
    })
    peer.backToSourceStarted({ contentLengthBytes: 12, pieceLengthBytes: 4 })
    peer.reportPiece({ piece: { number: 0, offset: 0, length: 4, digest: 'd'.repeat(64) }, parentPeerId: undefined, costMs: 2, content: Buffer.from('tiny') })
    clock.advance(5)
    await settle()
    peer.reschedule(new Set([PARENT]), 'stalled')
    peer.contentDigestMismatch({ expected: 'sha256:aa', actual: 'sha256:bb' })
    peer.peerFailed(new DamselflyError('SOURCE_STATUS', 'gone', { details: { sourceStatus: 410 } }))
    assert.deepEqual(stream.written.map(({ request }) => request), [
      {
        $case: 'register',
        value: {
          download: { url: 'http://origin.test/f', headers: { authorization: 'Basic x' }, tag: '', application: '', filteredQueryParams: ['ns'], pieceLength: 0, priority: 3, digest: '', disableBackToSource: false },
          pieces: [{ number: 2, offset: 8, length: 4, digest: 'e'.repeat(64) }],
          contentLength: 0,
          contentLengthKnown: false,
          protocolRevision: SCHEDULER_PROTOCOL_REVISION,
        },
      },
      { $case: 'backToSourceStarted', value: { contentLength: 12, contentLengthKnown: true, pieceLength: 4 } },
      { $case: 'piecesFinished', value: { pieces: [{ piece: { number: 0, offset: 0, length: 4, digest: 'd'.repeat(64) }, parentPeerId: '', costMs: 2, content: Buffer.from('tiny') }] } },
      { $case: 'reschedule', value: { blocklist: ['parent'], reason: 'stalled' } },
      { $case: 'contentDigestMismatch', value: { expected: 'sha256:aa', actual: 'sha256:bb' } },
      { $case: 'peerFailed', value: { reason: 'gone', code: 'SOURCE_STATUS', sourceStatus: 410 } },
    ])
  })

  it('hands the download checked answers, in order, and ignores an answer it does not know', TEST, async () => {
    const { stream, peer } = session()
    stream.emit('data', { response: { $case: 'registered', value: { protocolRevision: 1 } } } satisfies AnnouncePeerResponse)
    stream.emit('data', { response: undefined } satisfies AnnouncePeerResponse)
    stream.emit('data', { response: { $case: 'needBackToSource', value: { reason: 'no parent' } } } satisfies AnnouncePeerResponse)
    const signal = new AbortController().signal
    assert.deepEqual(await peer.next(signal, 1_000), { kind: 'registered', protocolRevision: 1 })
    assert.deepEqual(await peer.next(signal, 1_000), { kind: 'back-to-source', reason: 'no parent' })
    assert.equal(await peer.next(signal, 0), undefined)
  })

  it('stops listening to a scheduler that sends a malformed answer, so the download goes on without it', TEST, async () => {
    const { stream, peer } = session()
    stream.emit('data', {
      response: { $case: 'piecesAvailable', value: { parents: [{ peerId: 'p', pieceNumbers: [0] }], digests: [{ number: 0, digest: 'not-hex' }] } },
    } satisfies AnnouncePeerResponse)
    stream.emit('data', { response: { $case: 'needBackToSource', value: { reason: 'later' } } } satisfies AnnouncePeerResponse)
    assert.equal(await peer.next(new AbortController().signal, 1_000), SESSION_CLOSED)
    assert.equal(stream.cancelled, true)
    peer.peerFinished({ contentLengthBytes: 4, pieceCount: 1 })
    assert.deepEqual(stream.kinds, [])
  })
})
