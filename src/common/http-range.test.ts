import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { contentRange, parseRangeHeader, type InclusiveRange } from './http-range.js'

const TEST = { timeout: 10_000 }

describe('parseRangeHeader', TEST, () => {
  const cases: ReadonlyArray<{ header: string | undefined; length: number; expected: InclusiveRange | 'unsatisfiable' | undefined }> = [
    // Usable ranges.
    { header: 'bytes=0-99', length: 1000, expected: { start: 0, end: 99 } },
    { header: 'bytes=0-0', length: 1000, expected: { start: 0, end: 0 } },
    { header: 'bytes=999-999', length: 1000, expected: { start: 999, end: 999 } },
    { header: 'bytes=500-', length: 1000, expected: { start: 500, end: 999 } },
    { header: 'bytes=0-', length: 1000, expected: { start: 0, end: 999 } },
    { header: 'bytes=-100', length: 1000, expected: { start: 900, end: 999 } },
    { header: 'bytes=-1000', length: 1000, expected: { start: 0, end: 999 } },
    { header: 'bytes=-2000', length: 1000, expected: { start: 0, end: 999 } },
    { header: ' bytes=10-19 ', length: 1000, expected: { start: 10, end: 19 } },
    // An end past the content is clamped to its last byte.
    { header: 'bytes=0-5000', length: 1000, expected: { start: 0, end: 999 } },
    { header: 'bytes=990-99999999999999', length: 1000, expected: { start: 990, end: 999 } },
    // Outside the content: answer 416.
    { header: 'bytes=1000-', length: 1000, expected: 'unsatisfiable' },
    { header: 'bytes=1000-1100', length: 1000, expected: 'unsatisfiable' },
    { header: 'bytes=5000-6000', length: 1000, expected: 'unsatisfiable' },
    { header: 'bytes=-0', length: 1000, expected: 'unsatisfiable' },
    // Zero-length content has no satisfiable range.
    { header: 'bytes=0-', length: 0, expected: 'unsatisfiable' },
    { header: 'bytes=0-0', length: 0, expected: 'unsatisfiable' },
    { header: 'bytes=-5', length: 0, expected: 'unsatisfiable' },
    // No header, malformed, or several ranges: ignore it and send the whole content.
    { header: undefined, length: 1000, expected: undefined },
    { header: '', length: 1000, expected: undefined },
    { header: 'bytes=', length: 1000, expected: undefined },
    { header: 'bytes=-', length: 1000, expected: undefined },
    { header: 'bytes=a-b', length: 1000, expected: undefined },
    { header: 'bytes=1.5-2', length: 1000, expected: undefined },
    { header: 'bytes=-1-2', length: 1000, expected: undefined },
    { header: 'bytes=0-1,5-6', length: 1000, expected: undefined },
    { header: 'bytes=0-1, 5-6', length: 1000, expected: undefined },
    { header: 'items=0-1', length: 1000, expected: undefined },
    { header: '0-1', length: 1000, expected: undefined },
    { header: 'bytes 0-1', length: 1000, expected: undefined },
    { header: 'bytes=9-5', length: 1000, expected: undefined },
    { header: 'bytes=2000-1000', length: 1000, expected: undefined },
    // Past 2^53 the two ends round to the same double; the order is still the text's.
    { header: 'bytes=9007199254740993-9007199254740992', length: 1000, expected: undefined },
  ]
  for (const { header, length, expected } of cases) {
    it(`${JSON.stringify(header)} of ${length} bytes → ${JSON.stringify(expected)}`, TEST, () => {
      assert.deepEqual(parseRangeHeader(header, length), expected)
    })
  }
})

describe('contentRange', TEST, () => {
  const cases: ReadonlyArray<{ range: InclusiveRange; length: number; expected: string }> = [
    { range: { start: 0, end: 99 }, length: 1000, expected: 'bytes 0-99/1000' },
    { range: { start: 999, end: 999 }, length: 1000, expected: 'bytes 999-999/1000' },
    { range: { start: 0, end: 4 * 1024 ** 3 - 1 }, length: 4 * 1024 ** 3, expected: 'bytes 0-4294967295/4294967296' },
  ]
  for (const { range, length, expected } of cases) {
    it(expected, TEST, () => {
      assert.equal(contentRange(range, length), expected)
    })
  }

  it('describes what parseRangeHeader returns', TEST, () => {
    const range = parseRangeHeader('bytes=-10', 100)
    assert.ok(range !== undefined && range !== 'unsatisfiable')
    assert.equal(contentRange(range, 100), 'bytes 90-99/100')
  })
})
