import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { DamselflyError } from './damselfly-error.js'
import {
  MAX_FIXED_PIECE_LENGTH_BYTES,
  MIN_FIXED_PIECE_LENGTH_BYTES,
  pieceCount,
  pieceLengthFor,
  pieceRange,
  piecesCovering,
  validateFixedPieceLength,
} from './piece.js'

const TEST = { timeout: 10_000 }
const KIB = 1024
const MIB = 1024 * KIB
const GIB = 1024 * MIB

describe('pieceLengthFor: nextPowerOfTwo(length / 500) clamped to 1 MiB..64 MiB', TEST, () => {
  const cases: ReadonlyArray<{ contentLengthBytes: number; minPieceLengthBytes?: number; expected: number }> = [
    { contentLengthBytes: 0, expected: 1 * MIB },
    { contentLengthBytes: 1, expected: 1 * MIB },
    { contentLengthBytes: 100, expected: 1 * MIB },
    { contentLengthBytes: 5 * MIB, expected: 1 * MIB },
    { contentLengthBytes: 256 * MIB, expected: 1 * MIB },
    { contentLengthBytes: 300 * MIB, expected: 1 * MIB },
    { contentLengthBytes: 500 * MIB + 1, expected: 2 * MIB },
    { contentLengthBytes: 1 * GIB, expected: 4 * MIB },
    // 500 pieces of exactly 4 MiB, then one byte more needs the next power of two.
    { contentLengthBytes: 500 * 4 * MIB, expected: 4 * MIB },
    { contentLengthBytes: 500 * 4 * MIB + 1, expected: 8 * MIB },
    { contentLengthBytes: 2 * GIB, expected: 8 * MIB },
    { contentLengthBytes: 4 * GIB, expected: 16 * MIB },
    { contentLengthBytes: 8 * GIB, expected: 32 * MIB },
    { contentLengthBytes: 16 * GIB, expected: 64 * MIB },
    { contentLengthBytes: 100 * GIB, expected: 64 * MIB },
    // Dragonfly's own minimum of 4 MiB, for comparison.
    { contentLengthBytes: 64 * MIB, minPieceLengthBytes: 4 * MIB, expected: 4 * MIB },
    { contentLengthBytes: 1 * GIB, minPieceLengthBytes: 4 * MIB, expected: 4 * MIB },
  ]
  for (const { contentLengthBytes, minPieceLengthBytes, expected } of cases) {
    it(`${contentLengthBytes} bytes${minPieceLengthBytes === undefined ? '' : ` (min ${minPieceLengthBytes})`} → ${expected / MIB} MiB`, TEST, () => {
      const actual = minPieceLengthBytes === undefined ? pieceLengthFor(contentLengthBytes) : pieceLengthFor(contentLengthBytes, minPieceLengthBytes)
      assert.equal(actual, expected)
    })
  }
})

describe('pieceCount', TEST, () => {
  const cases = [
    { contentLengthBytes: 0, pieceLengthBytes: 4 * MIB, expected: 0 },
    { contentLengthBytes: 1, pieceLengthBytes: 4 * MIB, expected: 1 },
    { contentLengthBytes: 4 * MIB, pieceLengthBytes: 4 * MIB, expected: 1 },
    { contentLengthBytes: 4 * MIB + 1, pieceLengthBytes: 4 * MIB, expected: 2 },
    { contentLengthBytes: 2 * GIB, pieceLengthBytes: 8 * MIB, expected: 256 },
    { contentLengthBytes: 10, pieceLengthBytes: 3, expected: 4 },
  ] as const
  for (const { contentLengthBytes, pieceLengthBytes, expected } of cases) {
    it(`${contentLengthBytes} bytes in pieces of ${pieceLengthBytes} → ${expected}`, TEST, () => {
      assert.equal(pieceCount(contentLengthBytes, pieceLengthBytes), expected)
    })
  }
})

describe('pieceRange', TEST, () => {
  const cases = [
    { number: 0, contentLengthBytes: 10, pieceLengthBytes: 4, expected: { number: 0, offset: 0, length: 4 } },
    { number: 1, contentLengthBytes: 10, pieceLengthBytes: 4, expected: { number: 1, offset: 4, length: 4 } },
    { number: 2, contentLengthBytes: 10, pieceLengthBytes: 4, expected: { number: 2, offset: 8, length: 2 } },
    { number: 3, contentLengthBytes: 10, pieceLengthBytes: 4, expected: { number: 3, offset: 12, length: 0 } },
    { number: 2, contentLengthBytes: 12, pieceLengthBytes: 4, expected: { number: 2, offset: 8, length: 4 } },
    { number: 0, contentLengthBytes: 0, pieceLengthBytes: 4, expected: { number: 0, offset: 0, length: 0 } },
    { number: 255, contentLengthBytes: 2 * GIB - 1, pieceLengthBytes: 8 * MIB, expected: { number: 255, offset: 255 * 8 * MIB, length: 8 * MIB - 1 } },
  ] as const
  for (const { number, contentLengthBytes, pieceLengthBytes, expected } of cases) {
    it(`piece ${number} of ${contentLengthBytes} bytes in pieces of ${pieceLengthBytes}`, TEST, () => {
      assert.deepEqual(pieceRange(number, contentLengthBytes, pieceLengthBytes), expected)
    })
  }

  it('the pieces cover the content exactly once', TEST, () => {
    const contentLengthBytes = 10 * MIB + 123
    const pieceLengthBytes = 4 * MIB
    let next = 0
    for (let n = 0; n < pieceCount(contentLengthBytes, pieceLengthBytes); n++) {
      const range = pieceRange(n, contentLengthBytes, pieceLengthBytes)
      assert.equal(range.offset, next)
      assert.ok(range.length > 0)
      next += range.length
    }
    assert.equal(next, contentLengthBytes)
  })
})

describe('piecesCovering', TEST, () => {
  const cases = [
    { start: 0, endInclusive: 0, pieceLengthBytes: 4, expected: { first: 0, last: 0 } },
    { start: 0, endInclusive: 3, pieceLengthBytes: 4, expected: { first: 0, last: 0 } },
    { start: 0, endInclusive: 4, pieceLengthBytes: 4, expected: { first: 0, last: 1 } },
    { start: 3, endInclusive: 8, pieceLengthBytes: 4, expected: { first: 0, last: 2 } },
    { start: 4, endInclusive: 7, pieceLengthBytes: 4, expected: { first: 1, last: 1 } },
    { start: 9 * MIB, endInclusive: 9 * MIB, pieceLengthBytes: 4 * MIB, expected: { first: 2, last: 2 } },
  ] as const
  for (const { start, endInclusive, pieceLengthBytes, expected } of cases) {
    it(`bytes ${start}-${endInclusive} in pieces of ${pieceLengthBytes}`, TEST, () => {
      assert.deepEqual(piecesCovering(start, endInclusive, pieceLengthBytes), expected)
    })
  }
})

describe('validateFixedPieceLength', TEST, () => {
  it('has the documented bounds', TEST, () => {
    assert.equal(MIN_FIXED_PIECE_LENGTH_BYTES, 64 * KIB)
    assert.equal(MAX_FIXED_PIECE_LENGTH_BYTES, 1 * GIB)
  })

  for (const valid of [64 * KIB, 1 * MIB, 4 * MIB + 1, 1 * GIB]) {
    it(`accepts ${valid}`, TEST, () => {
      assert.equal(validateFixedPieceLength(valid), valid)
    })
  }

  for (const invalid of [0, -1, 64 * KIB - 1, 1 * GIB + 1, 1.5 * MIB + 0.5, Number.NaN, Number.POSITIVE_INFINITY]) {
    it(`refuses ${invalid} with INVALID_ARGUMENT`, TEST, () => {
      assert.throws(() => validateFixedPieceLength(invalid), (error: unknown) => {
        assert.ok(error instanceof DamselflyError)
        assert.equal(error.code, 'INVALID_ARGUMENT')
        assert.match(error.message, /piece length must be an integer from 65536 to 1073741824 bytes/)
        return true
      })
    })
  }
})
