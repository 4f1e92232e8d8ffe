import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { contentRange, parseRangeHeader, type InclusiveRange } from './http-range.js'

const TEST = { timeout: 30_000 }
const RUNS = { numRuns: 1000 }

/** Decimal digits as a client may send them: small, near the length, huge, with leading zeros. */
const digits = fc.oneof(
  fc.nat(40).map(String),
  fc.bigInt({ min: 0n, max: 2n ** 64n }).map(String),
  fc.tuple(fc.nat(5), fc.nat(1000)).map(([zeros, n]) => `${'0'.repeat(zeros)}${n}`),
  fc.string({ unit: fc.constantFrom(...'0123456789'.split('')), minLength: 1, maxLength: 400 }),
)
const position = fc.option(digits, { nil: '' })
const header = fc.oneof(
  { arbitrary: fc.tuple(position, position).map(([first, last]) => `bytes=${first}-${last}`), weight: 6 },
  // Both ends close together, also past 2^53 where doubles no longer tell neighbours apart.
  { arbitrary: fc.tuple(fc.bigInt({ min: 0n, max: 2n ** 70n }), fc.bigInt({ min: -3n, max: 3n })).map(([first, delta]) => `bytes=${first}-${first + delta}`), weight: 2 },
  { arbitrary: fc.tuple(fc.constantFrom(' ', '\t', ''), position, position, fc.constantFrom(' ', '\r\n', '')).map(([a, first, last, b]) => `${a}bytes=${first}-${last}${b}`), weight: 1 },
  { arbitrary: fc.tuple(position, position, position, position).map(([a, b, c, d]) => `bytes=${a}-${b},${c}-${d}`), weight: 1 },
  { arbitrary: fc.tuple(fc.constantFrom('BYTES', 'items', 'bytes ', 'bytes=bytes'), position, position).map(([unit, first, last]) => `${unit}=${first}-${last}`), weight: 1 },
  { arbitrary: fc.string({ unit: fc.constantFrom(...'bytes=-0123456789, \u0660'.split('')) }), weight: 1 },
  { arbitrary: fc.string({ unit: 'binary' }), weight: 1 },
)
const contentLength = fc.oneof(fc.nat(20), fc.nat(), fc.constantFrom(Number.MAX_SAFE_INTEGER, 2 ** 32))

/**
 * RFC 9110 §14.1.2 with exact integers: an invalid range set is ignored (the whole content), a
 * valid one that starts past the content or asks for the last 0 bytes is unsatisfiable.
 */
function expectedRange(text: string, length: number): InclusiveRange | 'unsatisfiable' | undefined {
  const match = /^bytes=(\d*)-(\d*)$/.exec(text.trim())
  if (match === null || (match[1] === '' && match[2] === '')) return undefined
  const size = BigInt(length)
  const last = match[2] === '' ? undefined : BigInt(match[2] ?? '')
  if (match[1] === '') {
    if (last === 0n || size === 0n) return 'unsatisfiable'
    return { start: Number(last !== undefined && last < size ? size - last : 0n), end: length - 1 }
  }
  const first = BigInt(match[1] ?? '')
  if (last !== undefined && last < first) return undefined
  if (first >= size) return 'unsatisfiable'
  return { start: Number(first), end: Number(last !== undefined && last < size - 1n ? last : size - 1n) }
}

describe('parseRangeHeader: properties', TEST, () => {
  it('never throws, and any range it accepts lies within the content', TEST, () => {
    fc.assert(fc.property(fc.option(header, { nil: undefined }), contentLength, (text, length) => {
      const range = parseRangeHeader(text, length)
      if (range === undefined || range === 'unsatisfiable') return
      assert.ok(Number.isSafeInteger(range.start) && Number.isSafeInteger(range.end), JSON.stringify(range))
      assert.ok(range.start >= 0 && range.start <= range.end && range.end < length, `${JSON.stringify(range)} of ${length}`)
    }), RUNS)
  })

  it('answers as RFC 9110 says: the range, unsatisfiable, or the whole content', TEST, () => {
    fc.assert(fc.property(header, contentLength, (text, length) => {
      assert.deepEqual(parseRangeHeader(text, length), expectedRange(text, length))
    }), RUNS)
  })

  it('serves exactly the bytes a well-formed range within the content names', TEST, () => {
    const input = contentLength.filter((length) => length > 0).chain((length) =>
      fc.tuple(fc.constant(length), fc.integer({ min: 0, max: length - 1 }), fc.integer({ min: 0, max: length - 1 })))
    fc.assert(fc.property(input, ([length, a, b]) => {
      const [start, end] = a <= b ? [a, b] : [b, a]
      assert.deepEqual(parseRangeHeader(`bytes=${start}-${end}`, length), { start, end })
      assert.deepEqual(parseRangeHeader(`bytes=${start}-`, length), { start, end: length - 1 })
      assert.deepEqual(parseRangeHeader(`bytes=-${length - start}`, length), { start, end: length - 1 })
    }), RUNS)
  })
})

describe('contentRange: properties', TEST, () => {
  it('writes the range it was given, which reads back to the same numbers', TEST, () => {
    fc.assert(fc.property(header, contentLength, (text, length) => {
      const range = parseRangeHeader(text, length)
      fc.pre(range !== undefined && range !== 'unsatisfiable')
      const match = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(contentRange(range, length))
      assert.ok(match !== null)
      assert.deepEqual([Number(match[1]), Number(match[2]), Number(match[3])], [range.start, range.end, length])
    }), { numRuns: 300, maxSkipsPerRun: 100 })
  })
})
