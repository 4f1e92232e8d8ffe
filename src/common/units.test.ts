import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { formatBytes, parseBytes, parseDurationMs } from './units.js'
import { assertThrowsCode } from '../protocol/damselfly-error-fixtures.js'

const TEST = { timeout: 10_000 }
const KIB = 1024
const MIB = 1024 * KIB
const GIB = 1024 * MIB

function assertInvalidArgument(run: () => unknown, ...messages: readonly RegExp[]): void {
  assertThrowsCode(run, 'INVALID_ARGUMENT', ...messages)
}

describe('parseDurationMs', TEST, () => {
  const valid: ReadonlyArray<readonly [string, number]> = [
    ['0s', 0],
    ['500ms', 500],
    ['30s', 30_000],
    ['1.5s', 1_500],
    ['5m', 300_000],
    ['2h', 7_200_000],
    ['1h30m', 5_400_000],
    ['1m30s', 90_000],
    ['1h1m1s1ms', 3_661_001],
    ['7d', 604_800_000],
    ['900s', 900_000],
    [' 6h ', 21_600_000],
  ]
  for (const [text, expected] of valid) {
    it(`${JSON.stringify(text)} is ${expected} ms`, TEST, () => {
      assert.equal(parseDurationMs(text), expected)
    })
  }

  for (const text of ['', '10', 's', '5x', '5 s', '-5s', '1h 30m', 'm5', '1.s', '5sec', '1w', '3600S']) {
    it(`refuses ${JSON.stringify(text)}`, TEST, () => {
      assertInvalidArgument(() => parseDurationMs(text), /duration must look like 500ms, 30s, 5m, 2h or 1h30m/)
    })
  }

  for (const text of ['99999999999999999999d', `${'9'.repeat(400)}s`, `${'1'.repeat(200)}h1m`]) {
    it(`refuses ${text.slice(0, 24)}... (past the safe integers)`, TEST, () => {
      assertInvalidArgument(() => parseDurationMs(text), /duration must be at most 9007199254740991ms/)
    })
  }

  it('refuses 200,000 digits without a unit at once', TEST, () => {
    // A test's timeout cannot stop synchronous code; searching from every digit took over a minute.
    const started = performance.now()
    assertInvalidArgument(() => parseDurationMs('1'.repeat(200_000)), /duration must look like/)
    assert.ok(performance.now() - started < 1_000, `took ${Math.round(performance.now() - started)}ms`)
  })
})

describe('parseBytes', TEST, () => {
  const valid: ReadonlyArray<readonly [string | number, number]> = [
    ['1048576', 1 * MIB],
    ['0', 0],
    ['10B', 10],
    ['512KiB', 512 * KIB],
    ['512 KiB', 512 * KIB],
    ['512ki', 512 * KIB],
    ['100MB', 100_000_000],
    ['100M', 100_000_000],
    ['100MiB', 100 * MIB],
    ['10GiB', 10 * GIB],
    ['10gib', 10 * GIB],
    ['1.5GiB', 1.5 * GIB],
    ['1TB', 1e12],
    ['2TiB', 2 * 1024 * GIB],
    [0, 0],
    [4096, 4096],
    [Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
  ]
  for (const [value, expected] of valid) {
    it(`${JSON.stringify(value)} is ${expected} bytes`, TEST, () => {
      assert.equal(parseBytes(value), expected)
    })
  }

  for (const text of ['', 'abc', 'MiB', '-1', '-1MiB', '10XB', '10i', '10 MiB/s', '1,5GiB', '0x10']) {
    it(`refuses the text ${JSON.stringify(text)}`, TEST, () => {
      assertInvalidArgument(() => parseBytes(text), /byte size must look like 1048576, 512KiB, 100MB or 10GiB/)
    })
  }

  for (const text of ['9007199254740992', '99999999999999999999', '9'.repeat(400), '8589934592MiB', '8192TiB']) {
    it(`refuses the text ${text.slice(0, 24)} (past the safe integers)`, TEST, () => {
      assertInvalidArgument(() => parseBytes(text), /byte size must be at most 9007199254740991 bytes/)
    })
  }

  for (const value of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, Number.MAX_SAFE_INTEGER + 1]) {
    it(`refuses the number ${value}`, TEST, () => {
      assertInvalidArgument(() => parseBytes(value), /byte size must be a non-negative integer/)
    })
  }
})

describe('formatBytes', TEST, () => {
  const cases: ReadonlyArray<readonly [number, string]> = [
    [0, '0 B'],
    [1, '1 B'],
    [1023, '1023 B'],
    [1024, '1.0 KiB'],
    [1536, '1.5 KiB'],
    [1 * MIB, '1.0 MiB'],
    [100 * MIB, '100.0 MiB'],
    [1.5 * GIB, '1.5 GiB'],
    [2 * 1024 * GIB, '2.0 TiB'],
    [2048 * 1024 * GIB, '2048.0 TiB'],
  ]
  for (const [bytes, expected] of cases) {
    it(`${bytes} is ${expected}`, TEST, () => {
      assert.equal(formatBytes(bytes), expected)
    })
  }
})
