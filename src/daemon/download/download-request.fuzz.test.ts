import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { outcomeOf } from '../../protocol/damselfly-error-fixtures.js'
import { formatDigest, parseDigest } from '../../protocol/digest.js'
import { MAX_FIXED_PIECE_LENGTH_BYTES, MIN_FIXED_PIECE_LENGTH_BYTES } from '../../protocol/piece.js'
import { parseDownloadRequest, type DownloadRequest } from './download-request.js'

const TEST = { timeout: 30_000 }
const RUNS = { numRuns: 300 }

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/
/** What undici (and RFC 9110's field-value) lets through: tab, visible ASCII, obs-text. */
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/
const CONTROL = /\p{Cc}/u
const LINE_BREAK = /[\r\n]/

const numberJunk = fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -0, 0, Number('1e309'), -1, 0.5, 2 ** 53, Number.MAX_VALUE, Number.MIN_VALUE)
const text = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary' }),
  fc.string({ unit: 'binary-ascii' }),
  fc.string({ unit: fc.constantFrom('a', ' ', '\r', '\n', '\r\n', '\0', '\t', '\x7f', '\u0085', '\u2028', 'é', '😀', ':') }),
  fc.nat(20_000).map((length) => 'x'.repeat(length)),
)
/** Whatever JSON (or a careless client) could put in a field. */
const junk = fc.oneof(
  text,
  numberJunk,
  fc.anything({ maxDepth: 3, withNullPrototype: true, values: [text, numberJunk, fc.boolean(), fc.constant(null)] }),
  fc.array(fc.array(fc.integer())),
)

/** Mostly `usual`, sometimes one of `others`: a body is accepted only when every field is. */
const mostly = <T>(usual: fc.Arbitrary<T>, ...others: ReadonlyArray<fc.Arbitrary<unknown>>): fc.Arbitrary<unknown> =>
  fc.oneof({ arbitrary: usual, weight: 3 * others.length }, ...others.map((arbitrary) => ({ arbitrary, weight: 1 })))

const httpUrl = fc.webUrl({ validSchemes: ['http', 'https'], withQueryParameters: true, withFragments: true, size: 'small' })
const token = fc.stringMatching(/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,20}$/)
  // An own `__proto__` key cannot survive a copy into a plain object; no real header is named so.
  .filter((name) => name !== '__proto__')
const headerName = mostly(token, fc.string({ unit: 'binary-ascii', minLength: 1, maxLength: 8 }), fc.string({ unit: 'binary', minLength: 1, maxLength: 8 }))
  .filter((name): name is string => name !== '__proto__')
const fieldText = fc.string({ unit: fc.constantFrom(...'\t !~az09;=\u00e9\u00ff'.split('')) })
/** A header value with one character of any kind among field text: CR, LF, NUL, DEL, C1, beyond Latin-1. */
const headerValue = mostly(
  fieldText,
  fc.tuple(fieldText, fc.integer({ min: 0, max: 0x3ff }), fieldText).map(([a, code, b]) => `${a}${String.fromCharCode(code)}${b}`),
  text,
)
const SHA256 = fc.string({ unit: fc.constantFrom(...'0123456789abcdef'.split('')), minLength: 64, maxLength: 64 })
const digest = mostly(
  fc.oneof(fc.constant(''), SHA256.map((hex) => `sha256:${hex}`), fc.mixedCase(SHA256.map((hex) => `sha256:${hex}`)), fc.constantFrom('crc32:0000abcd', 'crc32:ABCDEF01', `sha512:${'a'.repeat(128)}`)),
  fc.constantFrom('md5:00', 'sha256', 'sha256:', 'sha256:sha256:'),
  text,
  junk,
)
const pieceLength = mostly(
  fc.integer({ min: MIN_FIXED_PIECE_LENGTH_BYTES, max: MAX_FIXED_PIECE_LENGTH_BYTES }),
  fc.integer({ min: MIN_FIXED_PIECE_LENGTH_BYTES - 2, max: MIN_FIXED_PIECE_LENGTH_BYTES + 2 }),
  fc.integer({ min: MAX_FIXED_PIECE_LENGTH_BYTES - 2, max: MAX_FIXED_PIECE_LENGTH_BYTES + 2 }),
  fc.double(),
  numberJunk,
  junk,
)

/** Bodies near the valid ones: each field is either well formed, nearly so, junk, or absent. */
const body = fc.record({
  url: mostly(httpUrl, fc.webUrl({ validSchemes: ['ftp', 'file', 'HTTP', 'ws'] }), httpUrl.map((u) => u.replace('://', '://user:pw@')), text, junk),
  headers: mostly(fc.dictionary(headerName, headerValue, { maxKeys: 4 }), fc.dictionary(headerName, junk, { maxKeys: 3 }), junk),
  tag: mostly(fc.string({ maxLength: 260 }), text, junk),
  application: mostly(fc.string({ maxLength: 260 }), text, junk),
  filteredQueryParams: mostly(fc.array(fc.string({ maxLength: 260 }), { maxLength: 5 }), fc.array(fc.string({ minLength: 1 }), { minLength: 250, maxLength: 260 }), junk),
  pieceLength,
  priority: mostly(fc.integer({ min: -1, max: 7 }), numberJunk, junk),
  digest,
  disableBackToSource: mostly(fc.boolean(), junk),
  extra: junk,
}, { requiredKeys: [] })

/** The body that asks for exactly what `request` says. */
function bodyOf(request: DownloadRequest): Record<string, unknown> {
  const { pieceLengthBytes, ...rest } = request
  return { ...rest, ...(pieceLengthBytes === undefined ? {} : { pieceLength: pieceLengthBytes }) }
}

function assertValid(request: DownloadRequest, input: Record<string, unknown>): void {
  const url = new URL(request.url)
  assert.ok(url.protocol === 'http:' || url.protocol === 'https:', request.url)
  assert.equal(url.username, '')
  assert.equal(url.password, '')
  assert.equal(url.href, request.url, 'the URL is normalised')
  for (const [name, value] of Object.entries(request.headers)) {
    assert.match(name, TOKEN)
    assert.match(value, FIELD_VALUE, `header ${name} would be refused by the HTTP client`)
  }
  assert.deepEqual(Object.entries(request.headers), Object.entries(input['headers'] ?? {}), 'headers pass unchanged')
  for (const label of [request.tag, request.application]) {
    if (label === undefined) continue
    assert.ok(label.length >= 1 && label.length <= 256, label)
    assert.doesNotMatch(label, CONTROL)
  }
  assert.ok(request.filteredQueryParams.length <= 256)
  for (const name of request.filteredQueryParams) assert.ok(name.length >= 1 && name.length <= 256)
  if (request.pieceLengthBytes !== undefined) {
    assert.ok(Number.isSafeInteger(request.pieceLengthBytes))
    assert.ok(request.pieceLengthBytes >= MIN_FIXED_PIECE_LENGTH_BYTES && request.pieceLengthBytes <= MAX_FIXED_PIECE_LENGTH_BYTES)
  }
  assert.ok(Number.isInteger(request.priority) && request.priority >= 0 && request.priority <= 6, String(request.priority))
  if (request.digest !== undefined) assert.equal(formatDigest(parseDigest(request.digest)), request.digest)
  assert.equal(typeof request.disableBackToSource, 'boolean')
}

describe('parseDownloadRequest: properties', TEST, () => {
  it('accepts only requests that hold every invariant, and refuses the rest with INVALID_ARGUMENT or UNSUPPORTED_SCHEME', TEST, () => {
    fc.assert(fc.property(body, (input) => {
      const outcome = outcomeOf(() => parseDownloadRequest(input), 'INVALID_ARGUMENT', 'UNSUPPORTED_SCHEME')
      if (outcome.accepted) {
        assertValid(outcome.value, input)
        assert.deepEqual(parseDownloadRequest(bodyOf(outcome.value)), outcome.value, 'parsing a parsed request changes nothing')
      } else {
        assert.doesNotMatch(outcome.error.message, LINE_BREAK, 'the message is one line')
      }
    }), { numRuns: 1000 })
  })

  it('refuses bodies of any other shape with INVALID_ARGUMENT', TEST, () => {
    fc.assert(fc.property(junk, (input) => {
      fc.pre(typeof input !== 'object' || input === null || !('url' in input))
      const outcome = outcomeOf(() => parseDownloadRequest(input), 'INVALID_ARGUMENT')
      assert.equal(outcome.accepted, false, 'junk without a URL is never a request')
    }), RUNS)
  })

  it('accepts every well-formed request and keeps what it asked for', TEST, () => {
    const valid = fc.record({
      url: httpUrl,
      headers: fc.dictionary(token, fieldText),
      // A grapheme may take several UTF-16 units; 32 of them stay within the 256 a label may have.
      tag: fc.string({ unit: 'grapheme', maxLength: 32 }),
      application: fc.string({ unit: 'grapheme', maxLength: 32 }),
      filteredQueryParams: fc.array(fc.string({ minLength: 1, maxLength: 256 }), { maxLength: 8 }),
      pieceLength: fc.integer({ min: MIN_FIXED_PIECE_LENGTH_BYTES, max: MAX_FIXED_PIECE_LENGTH_BYTES }),
      priority: fc.integer({ min: 0, max: 6 }),
      digest: fc.mixedCase(SHA256).map((hex) => `sha256:${hex}`),
      disableBackToSource: fc.boolean(),
    }, { requiredKeys: ['url'] })
    fc.assert(fc.property(valid, (input) => {
      const request = parseDownloadRequest(input)
      assertValid(request, input)
      assert.deepEqual(parseDownloadRequest(bodyOf(request)), request, 'parsing a parsed request changes nothing')
      assert.equal(request.url, new URL(input.url).href)
      assert.equal(request.tag, input.tag || undefined)
      assert.equal(request.application, input.application || undefined)
      assert.deepEqual(request.filteredQueryParams, input.filteredQueryParams ?? [])
      assert.equal(request.pieceLengthBytes, input.pieceLength)
      assert.equal(request.priority, input.priority ?? 6)
      assert.equal(request.digest, input.digest?.toLowerCase())
      assert.equal(request.disableBackToSource, input.disableBackToSource ?? false)
    }), RUNS)
  })

  it('names the precise problem of a request that is well formed but for one field', TEST, () => {
    const flaw = fc.oneof(
      fc.webUrl({ validSchemes: ['ftp', 'file', 'ws', 'data'] }).map((url) => ({ patch: { url }, code: 'UNSUPPORTED_SCHEME', field: /unsupported URL scheme/ })),
      fc.tuple(httpUrl, fc.stringMatching(/^[a-z]{1,8}$/)).map(([url, user]) => ({ patch: { url: url.replace('://', `://${user}@`) }, code: 'INVALID_ARGUMENT', field: /credentials in the URL/ })),
      fc.tuple(fc.string(), fc.constantFrom('\r', '\n', '\0'), fc.string()).map(([a, bad, b]) => ({ patch: { headers: { 'X-A': `${a}${bad}${b}` } }, code: 'INVALID_ARGUMENT', field: /headers/ })),
      fc.tuple(fc.string(), fc.integer({ min: 0, max: 0x1f }), fc.string()).map(([a, bad, b]) => ({ patch: { tag: `${a}${String.fromCharCode(bad)}${b}` }, code: 'INVALID_ARGUMENT', field: /tag/ })),
      fc.oneof(fc.integer({ min: 7 }), fc.integer({ max: -1 }), fc.double({ min: 0.01, max: 5.99, noInteger: true })).map((priority) => ({ patch: { priority }, code: 'INVALID_ARGUMENT', field: /priority/ })),
      fc.oneof(fc.integer({ min: 1, max: MIN_FIXED_PIECE_LENGTH_BYTES - 1 }), fc.integer({ min: MAX_FIXED_PIECE_LENGTH_BYTES + 1 })).map((length) => ({ patch: { pieceLength: length }, code: 'INVALID_ARGUMENT', field: /piece length/ })),
      SHA256.map((hex) => ({ patch: { digest: `sha256:${hex.slice(1)}` }, code: 'INVALID_ARGUMENT', field: /digest/ })),
    )
    fc.assert(fc.property(httpUrl, flaw, (url, { patch, code, field }) => {
      const outcome = outcomeOf(() => parseDownloadRequest({ url, ...patch }), 'INVALID_ARGUMENT', 'UNSUPPORTED_SCHEME')
      assert.ok(!outcome.accepted, JSON.stringify(patch))
      if (!outcome.accepted) {
        assert.equal(outcome.error.code, code)
        assert.match(outcome.error.message, field)
      }
    }), RUNS)
  })
})
