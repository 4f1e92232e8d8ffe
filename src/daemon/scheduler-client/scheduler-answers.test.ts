import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { outcomeOf } from '../../protocol/damselfly-error-fixtures.js'
import type { AnnouncePeerResponse, CandidateParent } from '../../protocol/generated/damselfly/scheduler/v1/scheduler.js'
import { parseSchedulerAnswer } from './scheduler-answers.js'

const TEST = { timeout: 5_000 }
const DIGEST = 'd'.repeat(64)

function parent(overrides: Partial<CandidateParent> = {}): CandidateParent {
  return { peerId: 'p1', hostId: 'h1', ip: '10.0.0.1', uploadPort: 65002, seed: false, uploadTls: true, pieceNumbers: [0, 2], ...overrides }
}

function normalTask(overrides: Partial<Extract<AnnouncePeerResponse['response'], { $case: 'normalTask' }>['value']> = {}): AnnouncePeerResponse {
  return {
    response: {
      $case: 'normalTask',
      value: { task: { contentLength: 12, pieceLength: 4, pieceCount: 3 }, parents: [parent()], capability: 'dfc1.token', digests: [{ number: 0, digest: DIGEST }], ...overrides },
    },
  }
}

describe('parseSchedulerAnswer', TEST, () => {
  it('turns each answer into the download\'s terms', TEST, () => {
    const cases: Array<[AnnouncePeerResponse, unknown]> = [
      [{ response: undefined }, undefined],
      [{ response: { $case: 'registered', value: { protocolRevision: 1 } } }, { kind: 'registered', protocolRevision: 1 }],
      [{ response: { $case: 'emptyTask', value: {} } }, { kind: 'empty-task' }],
      [{ response: { $case: 'tinyTask', value: { content: Buffer.from('tiny') } } }, { kind: 'tiny-task', content: Buffer.from('tiny') }],
      [normalTask(), {
        kind: 'parents',
        task: { contentLengthBytes: 12, pieceLengthBytes: 4 },
        parents: [{ peerId: 'p1', hostId: 'h1', ip: '10.0.0.1', uploadPort: 65002, seed: false, uploadTls: true, pieceNumbers: [0, 2] }],
        capability: 'dfc1.token',
        digests: [{ number: 0, digest: DIGEST }],
      }],
      [normalTask({ task: undefined, capability: '', parents: [parent({ ip: 'fd00::1' }), parent({ peerId: 'p2', ip: 'peer-7.cluster.local' })] }), {
        kind: 'parents',
        task: undefined,
        parents: [
          { peerId: 'p1', hostId: 'h1', ip: 'fd00::1', uploadPort: 65002, seed: false, uploadTls: true, pieceNumbers: [0, 2] },
          { peerId: 'p2', hostId: 'h1', ip: 'peer-7.cluster.local', uploadPort: 65002, seed: false, uploadTls: true, pieceNumbers: [0, 2] },
        ],
        capability: undefined,
        digests: [{ number: 0, digest: DIGEST }],
      }],
      [normalTask({ task: { contentLength: 0, pieceLength: 0, pieceCount: 0 } }), {
        kind: 'parents',
        task: undefined,
        parents: [{ peerId: 'p1', hostId: 'h1', ip: '10.0.0.1', uploadPort: 65002, seed: false, uploadTls: true, pieceNumbers: [0, 2] }],
        capability: 'dfc1.token',
        digests: [{ number: 0, digest: DIGEST }],
      }],
      [{ response: { $case: 'piecesAvailable', value: { parents: [{ peerId: 'p1', pieceNumbers: [3] }], digests: [{ number: 3, digest: DIGEST }] } } },
        { kind: 'pieces-available', parents: [{ peerId: 'p1', pieceNumbers: [3] }], digests: [{ number: 3, digest: DIGEST }] }],
      [{ response: { $case: 'needBackToSource', value: { reason: 'no parent' } } }, { kind: 'back-to-source', reason: 'no parent' }],
      [{ response: { $case: 'scheduleFailed', value: { reason: 'priority 2' } } }, { kind: 'schedule-failed', reason: 'priority 2' }],
      [{ response: { $case: 'sourceFailed', value: { code: 'SOURCE_STATUS', sourceStatus: 404, reason: 'x'.repeat(5000) } } },
        { kind: 'source-failed', code: 'SOURCE_STATUS', sourceStatus: 404, reason: 'x'.repeat(1000) }],
    ]
    for (const [message, expected] of cases) assert.deepEqual(parseSchedulerAnswer(message), expected, JSON.stringify(message.response?.$case))
  })

  it('refuses what the download must not act on, naming the problem', TEST, () => {
    const cases: Array<[string, AnnouncePeerResponse, RegExp]> = [
      ['a digest that is not sha256 hex', normalTask({ digests: [{ number: 0, digest: DIGEST.toUpperCase() }] }), /digest of piece 0 must be 64 lowercase hex/],
      ['an address with a path in it', normalTask({ parents: [parent({ ip: 'evil.test/x?' })] }), /neither an IP address nor a DNS name/],
      ['an address with credentials', normalTask({ parents: [parent({ ip: 'user@10.0.0.1' })] }), /neither an IP address nor a DNS name/],
      ['port 0', normalTask({ parents: [parent({ uploadPort: 0 })] }), /upload port must be 1..65535/],
      ['a port past 65535', normalTask({ parents: [parent({ uploadPort: 70_000 })] }), /upload port must be 1..65535/],
      ['a parent without an id', normalTask({ parents: [parent({ peerId: '' })] }), /peer id must be 1 to 512/],
      ['a parent without a host id', normalTask({ parents: [parent({ hostId: '' })] }), /host id must be 1 to 512/],
      ['a length past 2^53', normalTask({ task: { contentLength: 2 ** 60, pieceLength: 4, pieceCount: 1 } }), /content length must be a non-negative integer/],
      ['an announced parent without an id', { response: { $case: 'piecesAvailable', value: { parents: [{ peerId: '', pieceNumbers: [1] }], digests: [] } } }, /peer id must be 1 to 512/],
      ['a tiny task past 128 bytes', { response: { $case: 'tinyTask', value: { content: Buffer.alloc(129) } } }, /at most 128 bytes/],
    ]
    for (const [name, message, pattern] of cases) {
      const outcome = outcomeOf(() => parseSchedulerAnswer(message), 'INVALID_ARGUMENT')
      assert.equal(outcome.accepted, false, name)
      if (outcome.accepted) continue
      assert.match(outcome.error.message, /the scheduler sent a malformed answer/, name)
      assert.match(outcome.error.message, pattern, name)
    }
  })
})
