import assert from 'node:assert/strict'
import { EventEmitter } from 'node:events'
import { describe, it } from 'node:test'
import type { ClientDuplexStream } from '@grpc/grpc-js'
import { silentLogger } from '../../common/logger.js'
import { ManualClock } from '../../common/manual-clock.js'
import type { AnnouncePeerRequest, AnnouncePeerResponse, PieceFinished } from '../../protocol/generated/damselfly/scheduler/v1/scheduler.js'
import { PeerSession } from './peer-session.js'

const TEST = { timeout: 5_000 }
const IDS = { hostId: 'host', taskId: 'a'.repeat(64), peerId: 'peer' }

/** Lets every queued promise callback run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve()
}

/** The client half of an AnnouncePeer stream, keeping what was written. */
class FakeStream extends EventEmitter {
  readonly written: AnnouncePeerRequest[] = []
  ended = false
  write(request: AnnouncePeerRequest): boolean {
    assert.equal(this.ended, false, 'nothing is written after the end')
    this.written.push(request)
    return true
  }
  end(): void {
    this.ended = true
  }
  /** What was written, by kind; a batch of reports as the piece numbers it carries. */
  get kinds(): Array<string | number[]> {
    return this.written.map(({ request }) => (request?.$case === 'piecesFinished' ? request.value.pieces.map((finished) => finished.piece?.number ?? -1) : request?.$case ?? 'nothing'))
  }
}

function finished(number: number): PieceFinished {
  return { piece: { number, offset: number * 4, length: 4, digest: 'd'.repeat(64) }, parentPeerId: 'parent', costMs: 1, content: Buffer.alloc(0) }
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
    peer.send({ $case: 'pieceFailed', value: { number: 1, parentPeerId: 'parent', badContent: false, reason: 'reset' } })
    peer.reportPiece(finished(1))
    peer.send({ $case: 'peerFinished', value: { contentLength: 8, pieceCount: 2 } })
    peer.send({ $case: 'peerFailed', value: { reason: 'late', code: 'INTERNAL', sourceStatus: 0 } })
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
    peer.send({ $case: 'peerFinished', value: { contentLength: 12, pieceCount: 3 } })
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
    peer.send({ $case: 'peerFinished', value: { contentLength: 4, pieceCount: 1 } })
    assert.deepEqual(stream.kinds, [])
    assert.equal(peer.closed, true)
  })
})
