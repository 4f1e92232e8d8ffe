import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { parseWwwAuthenticate } from './www-authenticate.js'

const TEST = { timeout: 30_000 }
const RUNS = { numRuns: 1_000 }

const PARAM_NAMES = ['realm', 'service', 'scope'] as const
const tokenChar = fc.constantFrom(...'abcXYZ019!#$%&\'*+-.^_`|~'.split(''))
const token = fc.string({ unit: tokenChar, minLength: 1, maxLength: 12 })
/** Any text without control characters, as a quoted value may hold. */
const quotable = fc.string({ unit: fc.constantFrom(...'ab :/,="\\\t-_'.split('')), maxLength: 30 })
const space = fc.constantFrom('', ' ', '  ', '\t')

function quote(value: string): string {
  return `"${value.replace(/["\\]/g, (char) => `\\${char}`)}"`
}

describe('parseWwwAuthenticate: properties', TEST, () => {
  it('never throws on any text', TEST, () => {
    fc.assert(fc.property(fc.oneof(fc.string(), fc.string({ unit: fc.constantFrom(...'Bearer realm="\\,= \t'.split('')) })), (header) => {
      const challenge = parseWwwAuthenticate(header)
      if (challenge !== undefined) assert.ok(challenge.scheme === 'bearer' || challenge.scheme === 'basic')
    }), RUNS)
  })

  it('reads back every parameter written quoted or as a token, whatever the spacing and case', TEST, () => {
    const param = fc.tuple(fc.constantFrom(...PARAM_NAMES), fc.oneof(quotable.map((v) => ({ value: v, written: quote(v) })), token.map((v) => ({ value: v, written: v }))))
    fc.assert(fc.property(
      fc.constantFrom('Bearer', 'bearer', 'BEARER', 'Basic'),
      fc.uniqueArray(param, { selector: ([name]) => name, maxLength: 3 }),
      space, space, fc.boolean(),
      (scheme, params, before, after, upper) => {
        const written = params.map(([name, { written: value }]) => `${upper ? name.toUpperCase() : name}${before}=${after}${value}`).join(`,${before}`)
        const challenge = parseWwwAuthenticate(params.length === 0 ? scheme : `${scheme} ${written}`)
        const expected: Record<string, string> = Object.fromEntries([['scheme', scheme.toLowerCase()], ...params.map(([name, { value }]) => [name, value] as const)])
        assert.deepEqual(challenge, expected)
      },
    ), RUNS)
  })

  it('skips challenges of other schemes before the one it knows', TEST, () => {
    fc.assert(fc.property(token.filter((t) => !['bearer', 'basic'].includes(t.toLowerCase())), quotable, quotable, (other, otherRealm, realm) => {
      assert.deepEqual(parseWwwAuthenticate(`${other} realm=${quote(otherRealm)}, Bearer realm=${quote(realm)}`), { scheme: 'bearer', realm })
    }), RUNS)
  })
})
