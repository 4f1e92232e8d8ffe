import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { isDamselflyError } from '../protocol/damselfly-error.js'
import { bytes, durationMs, port } from './config-schema.js'
import { parseBytes, parseDurationMs } from './units.js'

const TEST = { timeout: 30_000 }
const RUNS = { numRuns: 500 }

const text = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary' }),
  fc.string({ unit: fc.constantFrom(...'0123456789.msdhKMGTiBb '.split('')) }),
  fc.tuple(fc.nat(10_000), fc.constantFrom('ms', 's', 'm', 'h', 'd', 'KiB', 'MB', 'GiB', 'TiB', '')).map(([n, unit]) => `${n}${unit}`),
)
const number = fc.oneof(fc.integer(), fc.maxSafeNat(), fc.double(), fc.constantFrom(-0, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53, Number('1e309')))
const value = fc.oneof(text, number, fc.anything({ maxDepth: 2 }))

/** What `parse` makes of text: the number, or the message it refuses the text with. */
function parsed(parse: (value: string) => number, input: string): number | string {
  try {
    return parse(input)
  } catch (error) {
    assert.ok(isDamselflyError(error, 'INVALID_ARGUMENT'), String(error))
    return error.message
  }
}

for (const { name, schema, parse } of [
  { name: 'durationMs', schema: durationMs(), parse: parseDurationMs },
  { name: 'bytes', schema: bytes(), parse: parseBytes },
]) {
  describe(`config-schema ${name}: properties`, TEST, () => {
    it('accepts a safe integer as it is and text as the parser reads it, and refuses the rest as an issue', TEST, () => {
      fc.assert(fc.property(value, (input) => {
        const result = schema.safeParse(input)
        const expected = typeof input === 'number'
          ? (Number.isSafeInteger(input) && input >= 0 ? input : undefined)
          : typeof input === 'string' ? parsed(parse, input) : undefined
        assert.equal(result.success, typeof expected === 'number', fc.stringify(input))
        if (result.success) {
          assert.equal(result.data, expected)
          assert.ok(Number.isSafeInteger(result.data) && result.data >= 0)
        } else {
          assert.ok(result.error.issues.length > 0)
          // Text is refused with the parser's own words, which name the expected form.
          if (typeof expected === 'string') assert.equal(result.error.issues[0]?.message, expected)
        }
      }), RUNS)
    })
  })
}

describe('config-schema port: properties', TEST, () => {
  it('accepts exactly the integers 0..65535', TEST, () => {
    fc.assert(fc.property(fc.oneof(fc.integer({ min: -10, max: 70_000 }), value), (input) => {
      const result = port().safeParse(input)
      assert.equal(result.success, typeof input === 'number' && Number.isInteger(input) && input >= 0 && input <= 65535, fc.stringify(input))
      if (result.success) assert.equal(result.data, input)
    }), RUNS)
  })
})
