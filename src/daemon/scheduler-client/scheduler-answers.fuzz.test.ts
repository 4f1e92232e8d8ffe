import assert from 'node:assert/strict'
import { isIP } from 'node:net'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { outcomeOf } from '../../protocol/damselfly-error-fixtures.js'
import { AnnouncePeerResponse, type CandidateParent, type PieceDigest } from '../../protocol/generated/damselfly/scheduler/v1/scheduler.js'
import { parseSchedulerAnswer } from './scheduler-answers.js'

const TEST = { timeout: 30_000 }

// What a scheduler may send, restated; the parser must agree with it.
const isId = (value: string): boolean => value.length >= 1 && value.length <= 512
const isSha256Hex = (value: string): boolean => /^[0-9a-f]{64}$/.test(value)
const isHostName = (value: string): boolean => isIP(value) !== 0 || (value.length <= 253 && value.split('.').every((label) => /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/.test(label)))
const validParent = (parent: CandidateParent): boolean =>
  isId(parent.peerId) && isId(parent.hostId) && isHostName(parent.ip) && Number.isInteger(parent.uploadPort) && parent.uploadPort >= 1 && parent.uploadPort <= 65535
const validDigests = (digests: readonly PieceDigest[]): boolean => digests.every((digest) => isSha256Hex(digest.digest))

function valid(message: AnnouncePeerResponse): boolean {
  const response = message.response
  switch (response?.$case) {
    case 'normalTask': {
      const task = response.value.task
      const lengthsOk = task === undefined || task.pieceLength === 0 || (Number.isSafeInteger(task.contentLength) && Number.isSafeInteger(task.pieceLength))
      return lengthsOk && response.value.parents.every(validParent) && validDigests(response.value.digests)
    }
    case 'piecesAvailable':
      return response.value.parents.every((parent) => isId(parent.peerId)) && validDigests(response.value.digests)
    case 'tinyTask':
      return response.value.content.length <= 128
    default:
      return true
  }
}

const HEX = fc.string({ unit: fc.constantFrom(...'0123456789abcdef'.split('')), minLength: 64, maxLength: 64 })
const text = fc.oneof(fc.constant(''), fc.string({ maxLength: 12 }), fc.integer({ min: 510, max: 514 }).map((length) => 'i'.repeat(length)))
const address = fc.oneof(fc.ipV4(), fc.ipV6(), fc.domain(), text, fc.constantFrom('a/b', 'x@10.0.0.1', '10.0.0.1:80', '-bad.test'))
const uint32 = fc.oneof(fc.nat(100), fc.integer({ min: 65530, max: 65540 }), fc.integer({ min: 0, max: 2 ** 32 - 1 }))
const uint64 = fc.oneof(fc.nat(100), fc.maxSafeNat())
const digest = fc.record({ number: uint32, digest: fc.oneof(HEX, HEX.map((hex) => hex.toUpperCase()), text) })
const candidate: fc.Arbitrary<CandidateParent> = fc.record({
  peerId: text, hostId: text, ip: address, uploadPort: uint32, seed: fc.boolean(), uploadTls: fc.boolean(), pieceNumbers: fc.array(uint32, { maxLength: 4 }),
})
const answer: fc.Arbitrary<AnnouncePeerResponse> = fc.record({
  response: fc.oneof(
    fc.constant(undefined),
    fc.record({ protocolRevision: uint32 }).map((value) => ({ $case: 'registered' as const, value })),
    fc.uint8Array({ maxLength: 160 }).map((bytes) => ({ $case: 'tinyTask' as const, value: { content: Buffer.from(bytes) } })),
    fc.record({
      task: fc.option(fc.record({ contentLength: uint64, pieceLength: uint64, pieceCount: uint32 }), { nil: undefined }),
      parents: fc.array(candidate, { maxLength: 3 }),
      capability: text,
      digests: fc.array(digest, { maxLength: 3 }),
    }).map((value) => ({ $case: 'normalTask' as const, value })),
    fc.record({ parents: fc.array(fc.record({ peerId: text, pieceNumbers: fc.array(uint32, { maxLength: 3 }) }), { maxLength: 3 }), digests: fc.array(digest, { maxLength: 3 }) })
      .map((value) => ({ $case: 'piecesAvailable' as const, value })),
    fc.record({ code: text, sourceStatus: uint32, reason: text }).map((value) => ({ $case: 'sourceFailed' as const, value })),
  ),
})

function check(message: AnnouncePeerResponse): void {
  const outcome = outcomeOf(() => parseSchedulerAnswer(message), 'INVALID_ARGUMENT')
  assert.equal(outcome.accepted, valid(message), JSON.stringify(message))
}

describe('parseSchedulerAnswer: answers from the wire', TEST, () => {
  it('accepts exactly the valid ones of any answer sent, and refuses the rest with INVALID_ARGUMENT', TEST, () => {
    fc.assert(fc.property(answer, (message) => {
      check(AnnouncePeerResponse.decode(AnnouncePeerResponse.encode(message).finish()))
    }), { numRuns: 500 })
  })

  it('makes of random bytes either an answer or INVALID_ARGUMENT', TEST, () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 96 }), (bytes) => {
      let message: AnnouncePeerResponse
      try {
        message = AnnouncePeerResponse.decode(bytes)
      } catch {
        return
      }
      check(message)
    }), { numRuns: 1000 })
  })
})
