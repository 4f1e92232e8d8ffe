import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { outcomeOf } from './damselfly-error-fixtures.js'
import {
  MAX_FIXED_PIECE_LENGTH_BYTES,
  MAX_PIECE_LENGTH_BYTES,
  MIN_FIXED_PIECE_LENGTH_BYTES,
  MIN_PIECE_LENGTH_BYTES,
  pieceCount,
  pieceLengthFor,
  pieceRange,
  piecesCovering,
  validateFixedPieceLength,
} from './piece.js'

const TEST = { timeout: 30_000 }
const RUNS = { numRuns: 500 }

const TARGET_PIECES = 500
const isPowerOfTwo = (n: number): boolean => Number.isSafeInteger(n) && n > 0 && 2 ** Math.round(Math.log2(n)) === n

/** A piece length and a content length of at most a few thousand pieces of it. */
const layout = fc.oneof(fc.integer({ min: 1, max: 16 }), fc.integer({ min: 1, max: 2 ** 20 }), fc.constantFrom(MIN_FIXED_PIECE_LENGTH_BYTES, MAX_PIECE_LENGTH_BYTES, MAX_FIXED_PIECE_LENGTH_BYTES))
  .chain((pieceLength) => fc.record({
    pieceLength: fc.constant(pieceLength),
    contentLength: fc.tuple(fc.nat(3000), fc.nat(pieceLength - 1)).map(([whole, rest]) => whole * pieceLength + rest),
  }))

describe('validateFixedPieceLength: properties', TEST, () => {
  it('accepts exactly the integers from 64 KiB to 1 GiB, unchanged, and refuses the rest with INVALID_ARGUMENT', TEST, () => {
    const length = fc.oneof(
      fc.integer({ min: MIN_FIXED_PIECE_LENGTH_BYTES - 2, max: MIN_FIXED_PIECE_LENGTH_BYTES + 2 }),
      fc.integer({ min: MAX_FIXED_PIECE_LENGTH_BYTES - 2, max: MAX_FIXED_PIECE_LENGTH_BYTES + 2 }),
      fc.integer(),
      fc.double(),
    )
    fc.assert(fc.property(length, (bytes) => {
      const outcome = outcomeOf(() => validateFixedPieceLength(bytes), 'INVALID_ARGUMENT')
      assert.equal(outcome.accepted, Number.isInteger(bytes) && bytes >= MIN_FIXED_PIECE_LENGTH_BYTES && bytes <= MAX_FIXED_PIECE_LENGTH_BYTES, String(bytes))
      if (outcome.accepted) assert.equal(outcome.value, bytes)
    }), RUNS)
  })
})

describe('pieceLengthFor: properties', TEST, () => {
  it('picks the smallest power of two that keeps a task near 500 pieces, within the bounds', TEST, () => {
    fc.assert(fc.property(fc.oneof(fc.nat(10_000), fc.maxSafeNat(), fc.integer({ min: 0, max: 2 ** 40 })), (contentLength) => {
      const pieceLength = pieceLengthFor(contentLength)
      assert.ok(isPowerOfTwo(pieceLength), String(pieceLength))
      assert.ok(pieceLength >= MIN_PIECE_LENGTH_BYTES && pieceLength <= MAX_PIECE_LENGTH_BYTES, String(pieceLength))
      if (pieceLength < MAX_PIECE_LENGTH_BYTES) assert.ok(pieceCount(contentLength, pieceLength) <= TARGET_PIECES, `${contentLength}: ${pieceLength}`)
      if (pieceLength > MIN_PIECE_LENGTH_BYTES) assert.ok(pieceCount(contentLength, pieceLength / 2) > TARGET_PIECES, `${contentLength}: ${pieceLength}`)
    }), RUNS)
  })

  it('never shrinks the pieces as the content grows', TEST, () => {
    fc.assert(fc.property(fc.maxSafeNat(), fc.maxSafeNat(), (a, b) => {
      const [small, large] = a <= b ? [a, b] : [b, a]
      assert.ok(pieceLengthFor(small) <= pieceLengthFor(large))
    }), RUNS)
  })

  it('respects a smaller minimum the caller sets', TEST, () => {
    fc.assert(fc.property(fc.nat(2 ** 40), fc.nat(20).map((shift) => 2 ** shift), (contentLength, minimum) => {
      const pieceLength = pieceLengthFor(contentLength, minimum)
      assert.ok(isPowerOfTwo(pieceLength) && pieceLength >= minimum && pieceLength <= MAX_PIECE_LENGTH_BYTES)
      if (pieceLength < MAX_PIECE_LENGTH_BYTES) assert.ok(pieceCount(contentLength, pieceLength) <= TARGET_PIECES)
    }), RUNS)
  })
})

describe('pieceRange and pieceCount: properties', TEST, () => {
  it('tile the content exactly: in order, without gaps or overlaps, only the last one short', TEST, () => {
    fc.assert(fc.property(layout, ({ pieceLength, contentLength }) => {
      const count = pieceCount(contentLength, pieceLength)
      let offset = 0
      for (let number = 0; number < count; number++) {
        const range = pieceRange(number, contentLength, pieceLength)
        assert.equal(range.number, number)
        assert.equal(range.offset, offset)
        assert.ok(range.length > 0 && range.length <= pieceLength)
        if (number < count - 1) assert.equal(range.length, pieceLength)
        offset += range.length
      }
      assert.equal(offset, contentLength)
      assert.equal(pieceRange(count, contentLength, pieceLength).length, 0, 'past the last piece there are no bytes')
    }), { numRuns: 200 })
  })
})

describe('piecesCovering: properties', TEST, () => {
  it('names exactly the pieces a byte range touches', TEST, () => {
    const input = layout.filter(({ contentLength }) => contentLength > 0).chain(({ pieceLength, contentLength }) =>
      fc.tuple(fc.constant(pieceLength), fc.constant(contentLength), fc.nat(contentLength - 1), fc.nat(contentLength - 1)))
    fc.assert(fc.property(input, ([pieceLength, contentLength, a, b]) => {
      const [start, end] = a <= b ? [a, b] : [b, a]
      const { first, last } = piecesCovering(start, end, pieceLength)
      assert.ok(first <= last && last < pieceCount(contentLength, pieceLength))
      const firstRange = pieceRange(first, contentLength, pieceLength)
      const lastRange = pieceRange(last, contentLength, pieceLength)
      assert.ok(firstRange.offset <= start && start < firstRange.offset + firstRange.length, 'the first piece holds the first byte')
      assert.ok(lastRange.offset <= end && end < lastRange.offset + lastRange.length, 'the last piece holds the last byte')
    }), RUNS)
  })
})
