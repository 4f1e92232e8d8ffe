import { createPublicKey, type KeyObject } from 'node:crypto'
import { describe, it } from 'node:test'
import { assertThrowsCode } from '../protocol/damselfly-error-fixtures.js'
import { MAX_SIGNATURE_SKEW_MS, signRequest, verifyRequestSignature } from './request-signature.js'
import { generateHostKey } from './identity.js'

const REQUEST = { method: 'GET', path: '/download/aaa/' + 'a'.repeat(64), range: 'bytes=0-1023' }
const NOW_MS = 1_700_000_000_000

function keyOf(spki: Buffer): KeyObject {
  return createPublicKey({ key: spki, format: 'der', type: 'spki' })
}

describe('request signatures', { timeout: 10_000 }, () => {
  it('verify for the signed request and key only, within the allowed clock skew', () => {
    const child = generateHostKey()
    const other = generateHostKey()
    const header = signRequest(child.privateKey, REQUEST, NOW_MS)
    verifyRequestSignature(keyOf(child.publicKeySpki), header, REQUEST, NOW_MS + MAX_SIGNATURE_SKEW_MS)
    const cases: Array<[KeyObject, string | undefined, typeof REQUEST, number, RegExp]> = [
      [keyOf(other.publicKeySpki), header, REQUEST, NOW_MS, /does not match/],
      [keyOf(child.publicKeySpki), header, { ...REQUEST, range: 'bytes=0-2047' }, NOW_MS, /does not match/],
      [keyOf(child.publicKeySpki), header, { ...REQUEST, path: '/download/bbb/' + 'b'.repeat(64) }, NOW_MS, /does not match/],
      [keyOf(child.publicKeySpki), header, REQUEST, NOW_MS + MAX_SIGNATURE_SKEW_MS + 1, /off this host's clock/],
      [keyOf(child.publicKeySpki), undefined, REQUEST, NOW_MS, /missing/],
      [keyOf(child.publicKeySpki), 'not.a signature!', REQUEST, NOW_MS, /malformed/],
      [keyOf(child.publicKeySpki), `${NOW_MS + 1}.${header.split('.')[1] ?? ''}`, REQUEST, NOW_MS, /does not match/],
    ]
    for (const [key, candidate, request, nowMs, message] of cases) {
      assertThrowsCode(() => verifyRequestSignature(key, candidate, request, nowMs), 'UNAUTHENTICATED', message)
    }
  })

  it('keep each key to its own signatures, however often both are checked', () => {
    const [first, second] = [generateHostKey(), generateHostKey()]
    const [byFirst, bySecond] = [signRequest(first.privateKey, REQUEST, NOW_MS), signRequest(second.privateKey, REQUEST, NOW_MS)]
    for (let round = 0; round < 2; round++) {
      verifyRequestSignature(keyOf(first.publicKeySpki), byFirst, REQUEST, NOW_MS)
      verifyRequestSignature(keyOf(second.publicKeySpki), bySecond, REQUEST, NOW_MS)
      assertThrowsCode(() => verifyRequestSignature(keyOf(first.publicKeySpki), bySecond, REQUEST, NOW_MS), 'UNAUTHENTICATED', /does not match/)
      assertThrowsCode(() => verifyRequestSignature(keyOf(second.publicKeySpki), byFirst, REQUEST, NOW_MS), 'UNAUTHENTICATED', /does not match/)
    }
  })
})
