import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { outcomeOf } from '../protocol/damselfly-error-fixtures.js'
import {
  AnnounceHostRequest,
  AnnouncePeerRequest,
  type Download,
  type Host,
  type Piece,
  type PieceFinished,
  type RegisterPeer,
} from '../protocol/generated/damselfly/scheduler/v1/scheduler.js'
import type { TaskId } from '../protocol/ids.js'
import { SCHEDULER_PROTOCOL_REVISION } from '../protocol/scheduler-protocol.js'
import { taskIdFor } from '../protocol/task-id.js'
import { MAX_PIECE_NUMBER, MAX_PIECES_PER_REPORT, parseHostAnnounce, parsePeerAddress, parsePiecesFinished, parseRegistration } from './request-parsing.js'

const TEST = { timeout: 30_000 }
const RUNS = { numRuns: 500 }

// What a valid message is, restated from the protocol's comments; the parsers must agree with it.
const MAX_ID_LENGTH = 512
const isId = (value: string): boolean => value.length >= 1 && value.length <= MAX_ID_LENGTH
const isCount = (value: number): boolean => Number.isSafeInteger(value) && value >= 0
const isSha256Hex = (value: string): boolean => /^[0-9a-f]{64}$/.test(value)

function validHost(host: Host | undefined): boolean {
  if (host === undefined) return false
  const portOk = Number.isInteger(host.uploadPort) && host.uploadPort >= 0 && host.uploadPort <= 65535 && (host.uploadPort !== 0 || host.disableShared)
  return isId(host.id) && host.ip !== '' && portOk
    && isCount(host.concurrentUploadLimit) && isCount(host.concurrentUploadCount) && isCount(host.uploadCapacityBytesPerSecond)
}

function validPiece(piece: Piece | undefined): boolean {
  return piece !== undefined && isSha256Hex(piece.digest) && isCount(piece.number) && piece.number <= MAX_PIECE_NUMBER && isCount(piece.offset) && isCount(piece.length)
}

const OTHER_TASK_ID = '0'.repeat(64) as TaskId

/** The id of the task a registration's download names, or undefined when its URL is no URL. */
function namedTaskId(register: RegisterPeer): string | undefined {
  const download = register.download
  if (download === undefined) return undefined
  try {
    return taskIdFor({
      url: download.url,
      tag: download.tag,
      application: download.application,
      pieceLengthBytes: download.pieceLength > 0 ? download.pieceLength : undefined,
      filteredQueryParams: download.filteredQueryParams,
    })
  } catch {
    return undefined
  }
}

function validRegistration(register: RegisterPeer): boolean {
  const download = register.download
  return register.protocolRevision >= SCHEDULER_PROTOCOL_REVISION && download !== undefined && download.url !== ''
    && Number.isInteger(download.priority) && download.priority >= 0 && download.priority <= 6
    && isCount(download.pieceLength) && register.pieces.every(validPiece)
    && (!register.contentLengthKnown || isCount(register.contentLength))
}

// Well-typed values of every kind: what a careless or hostile client can put in each field.
const HEX = fc.string({ unit: fc.constantFrom(...'0123456789abcdef'.split('')), minLength: 64, maxLength: 64 })
const text = fc.oneof(
  fc.constant(''),
  fc.string({ maxLength: 16 }),
  fc.string({ unit: 'binary', maxLength: 16 }),
  fc.integer({ min: 0, max: MAX_ID_LENGTH + 1 }).map((length) => 'h'.repeat(length)),
)
const number = fc.oneof(
  fc.nat(100),
  fc.integer({ min: 65530, max: 65540 }),
  fc.maxSafeNat(),
  fc.integer({ min: -3, max: -1 }),
  fc.double(),
  fc.constantFrom(-0, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 32, 2 ** 53),
)
const digest = fc.oneof(HEX, fc.mixedCase(HEX), HEX.map((hex) => hex.slice(1)), HEX.map((hex) => `sha256:${hex}`), text)
const host: fc.Arbitrary<Host> = fc.record({
  id: text, ip: text, hostname: text, uploadPort: number, idc: text, location: text, seed: fc.boolean(), disableShared: fc.boolean(),
  concurrentUploadLimit: number, concurrentUploadCount: number, uploadCapacityBytesPerSecond: number, uploadTls: fc.boolean(),
})
const piece: fc.Arbitrary<Piece> = fc.record({ number, offset: number, length: number, digest })
const download: fc.Arbitrary<Download> = fc.record({
  url: fc.oneof(fc.webUrl(), text), headers: fc.dictionary(fc.string({ maxLength: 8 }), fc.string({ maxLength: 8 }), { maxKeys: 3 }),
  tag: text, application: text, filteredQueryParams: fc.array(text, { maxLength: 3 }), pieceLength: number,
  priority: fc.oneof(fc.integer({ min: -1, max: 7 }), number), digest: text, disableBackToSource: fc.boolean(),
})
const revision = fc.oneof(fc.constant(SCHEDULER_PROTOCOL_REVISION), fc.constant(0), number)
const register: fc.Arbitrary<RegisterPeer> = fc.record({
  download: fc.option(download, { nil: undefined }), pieces: fc.array(piece, { maxLength: 4 }), contentLength: number, contentLengthKnown: fc.boolean(), protocolRevision: revision,
})
const pieceFinished: fc.Arbitrary<PieceFinished> = fc.record({
  piece: fc.option(piece, { nil: undefined }), parentPeerId: text, costMs: number, content: fc.uint8Array({ maxLength: 8 }).map((bytes) => Buffer.from(bytes)),
})
const peerRequest: fc.Arbitrary<AnnouncePeerRequest> = fc.record({
  hostId: text,
  taskId: fc.oneof(HEX, fc.mixedCase(HEX), text),
  peerId: text,
  request: fc.oneof(
    fc.constant(undefined),
    register.map((value) => ({ $case: 'register' as const, value })),
    fc.array(pieceFinished, { maxLength: 3 }).map((pieces) => ({ $case: 'piecesFinished' as const, value: { pieces } })),
  ),
})

// The same messages with values the wire can carry: uint32 and safe uint64 numbers.
const uint32 = fc.oneof(fc.nat(100), fc.integer({ min: 65530, max: 65540 }), fc.integer({ min: 0, max: 2 ** 32 - 1 }))
const uint64 = fc.oneof(fc.nat(100), fc.maxSafeNat())
const wireHost: fc.Arbitrary<Host> = fc.record({
  id: text, ip: text, hostname: text, uploadPort: uint32, idc: text, location: text, seed: fc.boolean(), disableShared: fc.boolean(),
  concurrentUploadLimit: uint32, concurrentUploadCount: uint32, uploadCapacityBytesPerSecond: uint64, uploadTls: fc.boolean(),
})
const wirePiece: fc.Arbitrary<Piece> = fc.record({ number: uint32, offset: uint64, length: uint64, digest })
const wirePeerRequest: fc.Arbitrary<AnnouncePeerRequest> = fc.record({
  hostId: text,
  taskId: fc.oneof(HEX, text),
  peerId: text,
  request: fc.oneof(
    fc.constant(undefined),
    fc.record({
      download: fc.option(fc.record({
        url: fc.oneof(fc.webUrl(), text), headers: fc.constant({}), tag: text, application: text, filteredQueryParams: fc.array(text, { maxLength: 2 }),
        pieceLength: uint64, priority: fc.oneof(fc.nat(7), uint32), digest: text, disableBackToSource: fc.boolean(),
      }), { nil: undefined }),
      pieces: fc.array(wirePiece, { maxLength: 3 }),
      contentLength: uint64,
      contentLengthKnown: fc.boolean(),
      protocolRevision: fc.oneof(fc.constant(SCHEDULER_PROTOCOL_REVISION), uint32),
    }).map((value) => ({ $case: 'register' as const, value })),
    fc.array(fc.record({ piece: fc.option(wirePiece, { nil: undefined }), parentPeerId: text, costMs: uint64, content: fc.constant(Buffer.alloc(0)) }), { maxLength: 3 })
      .map((pieces) => ({ $case: 'piecesFinished' as const, value: { pieces } })),
  ),
})

/** Bytes of an encoded message with a few bytes changed, cut short or appended to. */
function mutated(encoded: fc.Arbitrary<Uint8Array>): fc.Arbitrary<Uint8Array> {
  const edit = fc.tuple(fc.nat(), fc.nat(255), fc.constantFrom('set', 'cut', 'append'))
  return fc.tuple(encoded, fc.array(edit, { minLength: 1, maxLength: 4 })).map(([bytes, edits]) => {
    let out = Uint8Array.from(bytes)
    for (const [at, byte, kind] of edits) {
      if (kind === 'append') out = Uint8Array.from([...out, byte])
      else if (out.length === 0) continue
      else if (kind === 'cut') out = out.subarray(0, at % out.length)
      else out[at % out.length] = byte
    }
    return out
  })
}

/** The decoded message, or undefined when the bytes do not decode: the wire library may throw on them. */
function decoded<T>(decode: (bytes: Uint8Array) => T, bytes: Uint8Array): T | undefined {
  try {
    return decode(bytes)
  } catch {
    return undefined
  }
}

function checkHostAnnounce(request: AnnounceHostRequest): void {
  const outcome = outcomeOf(() => parseHostAnnounce(request), 'INVALID_ARGUMENT')
  assert.equal(outcome.accepted, validHost(request.host), JSON.stringify(request.host))
  if (!outcome.accepted || request.host === undefined) return
  const { info, load } = outcome.value
  const h = request.host
  assert.deepEqual(info, { id: h.id, ip: h.ip, hostname: h.hostname, uploadPort: h.uploadPort, idc: h.idc, location: h.location, seed: h.seed, disableShared: h.disableShared, uploadTls: h.uploadTls, version: (h.version ?? '').slice(0, 64), os: (h.os ?? '').slice(0, 64) })
  assert.deepEqual(load, { concurrentUploadLimit: h.concurrentUploadLimit, concurrentUploadCount: h.concurrentUploadCount, uploadCapacityBytesPerSecond: h.uploadCapacityBytesPerSecond })
}

function checkPeerRequest(request: AnnouncePeerRequest): void {
  const address = outcomeOf(() => parsePeerAddress(request), 'INVALID_ARGUMENT')
  assert.equal(address.accepted, /^[0-9a-f]{64}$/.test(request.taskId) && isId(request.hostId) && isId(request.peerId), JSON.stringify([request.hostId, request.taskId, request.peerId]))
  if (address.accepted) assert.deepEqual(address.value, { hostId: request.hostId, taskId: request.taskId, peerId: request.peerId })
  if (request.request?.$case === 'register') {
    const value = request.request.value
    const named = namedTaskId(value)
    const registration = outcomeOf(() => parseRegistration(value, (named ?? request.taskId) as TaskId), 'INVALID_ARGUMENT')
    assert.equal(registration.accepted, validRegistration(value) && named !== undefined)
    if (registration.accepted) {
      assert.equal(registration.value.download, value.download)
      assert.deepEqual(registration.value.pieces, value.pieces.map(({ number, offset, length, digest: hex }) => ({ number, offset, length, digest: hex })))
      // Under any other task id the same registration is refused: it must name what it registers for.
      const other = outcomeOf(() => parseRegistration(value, OTHER_TASK_ID), 'INVALID_ARGUMENT')
      assert.equal(other.accepted, named === OTHER_TASK_ID)
    }
  }
  if (request.request?.$case === 'piecesFinished') {
    const report = request.request.value
    const { pieces } = report
    const valid = pieces.length > 0 && pieces.length <= MAX_PIECES_PER_REPORT
      && pieces.every((finished) => validPiece(finished.piece) && (finished.parentPeerId === '' || isId(finished.parentPeerId)) && isCount(finished.costMs))
    const parsed = outcomeOf(() => parsePiecesFinished(report), 'INVALID_ARGUMENT')
    assert.equal(parsed.accepted, valid, JSON.stringify(pieces))
    if (parsed.accepted) {
      assert.deepEqual(parsed.value, pieces.map((finished) => ({
        piece: finished.piece === undefined ? undefined : { number: finished.piece.number, offset: finished.piece.offset, length: finished.piece.length, digest: finished.piece.digest },
        parentPeerId: finished.parentPeerId === '' ? undefined : finished.parentPeerId,
        costMs: finished.costMs,
        content: finished.content,
      })))
    }
  }
}

describe('request parsing: well-typed messages', TEST, () => {
  it('accepts exactly the valid host announcements and keeps their values', TEST, () => {
    fc.assert(fc.property(fc.option(host, { nil: undefined }), (h) => checkHostAnnounce({ host: h, report: undefined })), RUNS)
  })

  it('accepts exactly the valid peer addresses, registrations and pieces', TEST, () => {
    fc.assert(fc.property(peerRequest, checkPeerRequest), RUNS)
  })
})

describe('request parsing: messages from the wire', TEST, () => {
  it('accepts the valid ones of any host announcement sent, and refuses the rest with INVALID_ARGUMENT', TEST, () => {
    fc.assert(fc.property(fc.option(wireHost, { nil: undefined }), (h) => {
      const bytes = AnnounceHostRequest.encode({ host: h, report: undefined }).finish()
      checkHostAnnounce(AnnounceHostRequest.decode(bytes))
    }), RUNS)
  })

  it('accepts the valid ones of any peer request sent, and refuses the rest with INVALID_ARGUMENT', TEST, () => {
    fc.assert(fc.property(wirePeerRequest, (request) => {
      checkPeerRequest(AnnouncePeerRequest.decode(AnnouncePeerRequest.encode(request).finish()))
    }), RUNS)
  })

  it('makes of corrupted or random bytes either a valid message or INVALID_ARGUMENT', TEST, () => {
    const hostBytes = fc.oneof(fc.uint8Array({ maxLength: 64 }), mutated(fc.option(wireHost, { nil: undefined }).map((h) => AnnounceHostRequest.encode({ host: h, report: undefined }).finish())))
    const peerBytes = fc.oneof(fc.uint8Array({ maxLength: 64 }), mutated(wirePeerRequest.map((request) => AnnouncePeerRequest.encode(request).finish())))
    fc.assert(fc.property(hostBytes, peerBytes, (forHost, forPeer) => {
      const announce = decoded((bytes) => AnnounceHostRequest.decode(bytes), forHost)
      if (announce !== undefined) checkHostAnnounce(announce)
      const request = decoded((bytes) => AnnouncePeerRequest.decode(bytes), forPeer)
      if (request !== undefined) checkPeerRequest(request)
    }), { numRuns: 1000 })
  })
})
