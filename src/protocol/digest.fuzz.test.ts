import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { outcomeOf } from './damselfly-error-fixtures.js'
import { createHasher, DIGEST_ALGORITHMS, formatDigest, parseDigest, sha256Hex, type Digest } from './digest.js'

const TEST = { timeout: 30_000 }
const RUNS = { numRuns: 500 }

const HEX_LENGTH = { sha256: 64, sha512: 128, crc32: 8 } as const
const HEX_DIGIT = fc.constantFrom(...'0123456789abcdef'.split(''))
const hex = (length: number): fc.Arbitrary<string> => fc.string({ unit: HEX_DIGIT, minLength: length, maxLength: length })
const digest: fc.Arbitrary<Digest> = fc.constantFrom(...DIGEST_ALGORITHMS).chain((algorithm) => hex(HEX_LENGTH[algorithm]).map((h) => ({ algorithm, hex: h })))

/** Near-digests: wrong case, wrong length, wrong algorithm, extra colons, any text. */
const digestLike = fc.oneof(
  digest.map(formatDigest),
  fc.mixedCase(digest.map(formatDigest)),
  fc.tuple(fc.constantFrom(...DIGEST_ALGORITHMS, 'md5', 'SHA256', ''), fc.nat(130).chain(hex)).map(([a, h]) => `${a}:${h}`),
  fc.tuple(digest.map(formatDigest), fc.constantFrom(':', ':00', ' ', '\n')).map(([d, tail]) => `${d}${tail}`),
  fc.string(),
  fc.string({ unit: 'binary' }),
)

describe('parseDigest and formatDigest: properties', TEST, () => {
  it('read back every digest they write', TEST, () => {
    fc.assert(fc.property(digest, (d) => {
      assert.deepEqual(parseDigest(formatDigest(d)), d)
    }), RUNS)
  })

  it('accept exactly <algorithm>:<hex of its length> in any case of hex, and write it in lowercase', TEST, () => {
    fc.assert(fc.property(digestLike, (text) => {
      const outcome = outcomeOf(() => parseDigest(text), 'INVALID_ARGUMENT')
      const match = /^([a-z0-9]+):([0-9a-fA-F]+)$/.exec(text)
      const algorithm = DIGEST_ALGORITHMS.find((a) => a === match?.[1])
      const expected = algorithm !== undefined && match?.[2]?.length === HEX_LENGTH[algorithm]
      assert.equal(outcome.accepted, expected, text)
      if (outcome.accepted) assert.equal(formatDigest(outcome.value), text.toLowerCase())
    }), RUNS)
  })
})

describe('createHasher: properties', TEST, () => {
  const chunked = fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 8 })

  it('gives the same digest however the bytes are cut into chunks, in the form parseDigest reads', TEST, () => {
    fc.assert(fc.property(fc.constantFrom(...DIGEST_ALGORITHMS), chunked, (algorithm, chunks) => {
      const whole = createHasher(algorithm)
      whole.update(Buffer.concat(chunks))
      const pieces = createHasher(algorithm)
      for (const chunk of chunks) pieces.update(chunk)
      const expected = whole.digest()
      assert.deepEqual(pieces.digest(), expected)
      assert.deepEqual(parseDigest(formatDigest(expected)), expected)
    }), RUNS)
  })

  it('agrees with sha256Hex', TEST, () => {
    fc.assert(fc.property(chunked, (chunks) => {
      const hasher = createHasher('sha256')
      for (const chunk of chunks) hasher.update(chunk)
      assert.equal(hasher.digest().hex, sha256Hex(chunks))
    }), RUNS)
  })
})
