import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { outcomeOf } from '../protocol/damselfly-error-fixtures.js'
import { formatBytes, parseBytes, parseDurationMs } from './units.js'

const TEST = { timeout: 30_000 }
const RUNS = { numRuns: 500 }

const DURATION_UNITS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const
const SIZE_UNITS = {
  '': 1, B: 1, K: 1e3, KB: 1e3, Ki: 1024, KiB: 1024, M: 1e6, MB: 1e6, Mi: 1024 ** 2, MiB: 1024 ** 2,
  G: 1e9, GB: 1e9, Gi: 1024 ** 3, GiB: 1024 ** 3, T: 1e12, TB: 1e12, Ti: 1024 ** 4, TiB: 1024 ** 4,
} as const

const DIGIT = fc.constantFrom(...'0123456789'.split(''))
/** A decimal amount: its text and its exact value as a fraction `numerator / 10^decimals`. */
const amount = fc.tuple(
  fc.oneof(fc.nat(100), fc.nat(), fc.bigInt({ min: 0n, max: 10n ** 30n })),
  fc.option(fc.string({ unit: DIGIT, minLength: 1, maxLength: 3 }), { nil: undefined }),
).map(([whole, fraction]) => ({
  text: fraction === undefined ? `${whole}` : `${whole}.${fraction}`,
  numerator: BigInt(`${whole}${fraction ?? ''}`),
  decimals: fraction?.length ?? 0,
}))
const text = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary' }),
  fc.string({ unit: fc.constantFrom(...'0123456789.msdhKMGTiBb -'.split('')) }),
)

/** The value of `count` units of `factor`, rounded, when it is a safe integer; otherwise undefined. */
function exactRounded(parts: ReadonlyArray<{ numerator: bigint; decimals: number; factor: number }>): number | undefined {
  const scale = 1000n
  let total = 0n
  for (const { numerator, decimals, factor } of parts) total += (numerator * BigInt(factor) * scale) / 10n ** BigInt(decimals)
  const rounded = (total + scale / 2n) / scale
  return rounded <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(rounded) : undefined
}

describe('parseDurationMs: properties', TEST, () => {
  it('adds up every part of a compound duration, refusing a total past the safe integers', TEST, () => {
    const part = fc.tuple(amount, fc.constantFrom(...Object.keys(DURATION_UNITS) as Array<keyof typeof DURATION_UNITS>))
    fc.assert(fc.property(fc.array(part, { minLength: 1, maxLength: 4 }), fc.constantFrom('', ' ', '\t'), (parts, pad) => {
      const written = `${pad}${parts.map(([a, unit]) => `${a.text}${unit}`).join('')}${pad}`
      const expected = exactRounded(parts.map(([a, unit]) => ({ ...a, factor: DURATION_UNITS[unit] })))
      const outcome = outcomeOf(() => parseDurationMs(written), 'INVALID_ARGUMENT')
      if (expected === undefined || expected > Number.MAX_SAFE_INTEGER - 1) {
        assert.ok(!outcome.accepted || Number.isSafeInteger(outcome.value), `${written} gave ${outcome.accepted ? outcome.value : ''}`)
        return
      }
      assert.ok(outcome.accepted, written)
      // Doubles may round the sum of fractional parts either way at the half.
      const tolerance = parts.every(([a]) => a.decimals === 0) && expected < 2 ** 52 ? 0 : Math.max(1, expected * 2 ** -50)
      assert.ok(Math.abs(outcome.value - expected) <= tolerance, `${written}: ${outcome.value}, expected ${expected}`)
    }), RUNS)
  })

  it('answers a safe non-negative integer or refuses with INVALID_ARGUMENT, whatever the text', TEST, () => {
    fc.assert(fc.property(text, (value) => {
      const outcome = outcomeOf(() => parseDurationMs(value), 'INVALID_ARGUMENT')
      if (outcome.accepted) assert.ok(Number.isSafeInteger(outcome.value) && outcome.value >= 0, `${JSON.stringify(value)}: ${outcome.value}`)
    }), RUNS)
  })

  it('refuses a number too large for a double with INVALID_ARGUMENT rather than answering Infinity', TEST, () => {
    fc.assert(fc.property(fc.integer({ min: 309, max: 2000 }), fc.constantFrom(...Object.keys(DURATION_UNITS)), (length, unit) => {
      assert.equal(outcomeOf(() => parseDurationMs(`${'9'.repeat(length)}${unit}`), 'INVALID_ARGUMENT').accepted, false)
    }), { numRuns: 50 })
  })

  it('reads long text in time linear in its length', TEST, () => {
    // A parser that retries from every digit takes seconds for 50,000 of them; a linear one, a
    // millisecond. A test's timeout cannot stop synchronous code, so the time is asserted.
    const input = fc.tuple(fc.integer({ min: 50_000, max: 100_000 }), fc.constantFrom('', 'x', 's5', '.', '1m1', '.5'))
    fc.assert(fc.property(input, ([digits, tail]) => {
      const started = performance.now()
      const outcome = outcomeOf(() => parseDurationMs(`${'1'.repeat(digits)}${tail}`), 'INVALID_ARGUMENT')
      const tookMs = performance.now() - started
      assert.equal(outcome.accepted, false)
      assert.ok(tookMs < 500, `took ${Math.round(tookMs)}ms`)
    }), { numRuns: 10 })
  })
})

describe('parseBytes: properties', TEST, () => {
  it('reads back every safe integer, given as text or as a number', TEST, () => {
    fc.assert(fc.property(fc.maxSafeNat(), (bytes) => {
      assert.equal(parseBytes(String(bytes)), bytes)
      assert.equal(parseBytes(bytes), bytes)
    }), RUNS)
  })

  it('multiplies by the unit in any case, refusing a size past the safe integers', TEST, () => {
    const unit = fc.constantFrom(...Object.keys(SIZE_UNITS) as Array<keyof typeof SIZE_UNITS>)
    fc.assert(fc.property(amount, fc.mixedCase(unit), fc.constantFrom('', ' '), (a, written, space) => {
      const canonical = Object.keys(SIZE_UNITS).find((key) => key.toLowerCase() === written.toLowerCase()) as keyof typeof SIZE_UNITS
      const expected = exactRounded([{ ...a, factor: SIZE_UNITS[canonical] }])
      const outcome = outcomeOf(() => parseBytes(`${a.text}${space}${written}`), 'INVALID_ARGUMENT')
      if (expected === undefined || expected > Number.MAX_SAFE_INTEGER - 1) {
        assert.ok(!outcome.accepted || Number.isSafeInteger(outcome.value), `${a.text}${written} gave ${outcome.accepted ? outcome.value : ''}`)
        return
      }
      assert.ok(outcome.accepted, `${a.text}${space}${written}`)
      const tolerance = a.decimals === 0 && expected < 2 ** 52 ? 0 : Math.max(1, expected * 2 ** -50)
      assert.ok(Math.abs(outcome.value - expected) <= tolerance, `${a.text}${written}: ${outcome.value}, expected ${expected}`)
    }), RUNS)
  })

  it('answers a safe non-negative integer or refuses with INVALID_ARGUMENT, whatever the input', TEST, () => {
    fc.assert(fc.property(fc.oneof(text, fc.double(), fc.integer()), (value) => {
      const outcome = outcomeOf(() => parseBytes(value), 'INVALID_ARGUMENT')
      if (outcome.accepted) assert.ok(Number.isSafeInteger(outcome.value) && outcome.value >= 0, `${JSON.stringify(value)}: ${outcome.value}`)
      if (typeof value === 'number') assert.equal(outcome.accepted, Number.isSafeInteger(value) && value >= 0)
    }), RUNS)
  })
})

describe('formatBytes: properties', TEST, () => {
  it('prints a size that reads back to within the rounding of its last digit', TEST, () => {
    // Up to 4 PiB: one decimal of TiB may round a size just under 2^53 up past the safe integers.
    fc.assert(fc.property(fc.oneof(fc.nat(5000), fc.integer({ min: 0, max: 2 ** 52 })), (bytes) => {
      const printed = formatBytes(bytes)
      const match = /^(\d+(?:\.\d)?) (B|KiB|MiB|GiB|TiB)$/.exec(printed)
      assert.ok(match !== null, printed)
      const unit = 1024 ** ['B', 'KiB', 'MiB', 'GiB', 'TiB'].indexOf(match[2] ?? '')
      assert.ok(Math.abs(parseBytes(printed) - bytes) <= 0.05 * unit + 1, `${bytes} printed ${printed}`)
      // One decimal may round 1023.96 KiB up to 1024.0 KiB, never further.
      if (unit < 1024 ** 4) assert.ok(Number(match[1]) <= 1024, printed)
    }), RUNS)
  })
})
