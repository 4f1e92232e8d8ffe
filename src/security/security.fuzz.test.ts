import assert from 'node:assert/strict'
import { createPublicKey } from 'node:crypto'
import { before, describe, it } from 'node:test'
import fc from 'fast-check'
import { InstantClock } from '../common/instant-clock.js'
import { outcomeOf } from '../protocol/damselfly-error-fixtures.js'
import type { PeerId, TaskId } from '../protocol/ids.js'
import { CapabilityIssuer, CapabilityVerifier } from './capability.js'
import { formatJoinToken, parseJoinToken } from './join-tokens.js'
import { parseCertificate } from './identity.js'
import type { LocalIdentity } from './local-identity.js'
import { signRequest, verifyRequestSignature } from './request-signature.js'
import { testCa, testIdentity } from './security-fixtures.js'
import { fromPem } from './x509.js'

const TEST = { timeout: 30_000 }
const RUNS = { numRuns: 300 }
const TASK = 'a'.repeat(64) as TaskId
const B64URL = fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'.split(''))

/** Damage to a string: characters changed, cut short, spliced with another string. */
function mangled(valid: string): fc.Arbitrary<string> {
  return fc.oneof(
    fc.tuple(fc.nat(valid.length - 1), fc.string({ minLength: 1, maxLength: 1 })).map(([at, c]) => `${valid.slice(0, at)}${c}${valid.slice(at + 1)}`),
    fc.nat(valid.length - 1).map((at) => valid.slice(0, at)),
    fc.tuple(fc.nat(valid.length), fc.string({ maxLength: 20 })).map(([at, extra]) => `${valid.slice(0, at)}${extra}${valid.slice(at)}`),
    fc.string({ maxLength: 300 }),
    fc.array(fc.string({ unit: B64URL, maxLength: 80 }), { minLength: 1, maxLength: 6 }).map((parts) => parts.join('.')),
  )
}

describe('security parsers: properties', TEST, () => {
  let scheduler!: LocalIdentity
  let child!: LocalIdentity
  let token = ''
  const clock = new InstantClock(Date.now())

  before(async () => {
    const ca = await testCa()
    ;[scheduler, child] = await Promise.all([testIdentity(ca, 'scheduler'), testIdentity(ca, 'normal')])
    token = new CapabilityIssuer({ clock }, { privateKey: scheduler.privateKey, certDer: fromPem(scheduler.certPem), ttlMs: 60_000 })
      .issue({ taskId: TASK, peerId: 'p' as PeerId, hostId: child.identity.hostId, publicKeySpki: child.identity.publicKeySpki }).token
  })

  it('a capability verifier refuses every damaged token with UNAUTHENTICATED, and accepts only the real one', TEST, () => {
    const verifier = new CapabilityVerifier({ caCert: child.caCert, clock })
    fc.assert(fc.property(mangled(token), (candidate) => {
      const outcome = outcomeOf(() => verifier.verify(candidate, TASK), 'UNAUTHENTICATED')
      assert.equal(outcome.accepted, candidate === token, candidate)
    }), RUNS)
  })

  it('join tokens: any text parses to its parts or fails INVALID_ARGUMENT, and parts round-trip', TEST, () => {
    const part = (length: number): fc.Arbitrary<string> => fc.string({ unit: B64URL, minLength: length, maxLength: length })
    const valid = fc.record({ id: fc.string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789'.split('')), minLength: 6, maxLength: 6 }), secret: part(22), pin: part(43) })
    fc.assert(fc.property(valid, (t) => assert.deepEqual(parseJoinToken(formatJoinToken(t)), { ...t })), RUNS)
    fc.assert(fc.property(valid.chain((t) => mangled(formatJoinToken(t))), (text) => {
      const outcome = outcomeOf(() => parseJoinToken(text), 'INVALID_ARGUMENT')
      if (outcome.accepted) assert.equal(formatJoinToken(outcome.value), text.trim())
    }), RUNS)
  })

  it('request signatures: a damaged header or request is refused with UNAUTHENTICATED', TEST, () => {
    const request = { method: 'GET', path: `/download/aaa/${TASK}`, range: 'bytes=0-99' }
    const header = signRequest(child.privateKey, request, clock.nowMs())
    const childKey = createPublicKey({ key: child.identity.publicKeySpki, format: 'der', type: 'spki' })
    fc.assert(fc.property(mangled(header), fc.boolean(), (candidate, otherRange) => {
      const asked = otherRange ? { ...request, range: 'bytes=0-100' } : request
      const outcome = outcomeOf(() => verifyRequestSignature(childKey, candidate, asked, clock.nowMs()), 'UNAUTHENTICATED')
      if (outcome.accepted) assert.ok(!otherRange && candidate.split('.')[1] === header.split('.')[1], candidate)
    }), RUNS)
  })

  it('certificates: random bytes and text are refused with INVALID_ARGUMENT', TEST, () => {
    fc.assert(fc.property(fc.oneof(fc.string(), fc.uint8Array({ maxLength: 600 }).map((bytes) => Buffer.from(bytes))), (input) => {
      assert.equal(outcomeOf(() => parseCertificate(input, 'input'), 'INVALID_ARGUMENT').accepted, false)
    }), { numRuns: 200 })
  })
})
