import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { outcomeOf } from './damselfly-error-fixtures.js'
import { isTaskId } from './ids.js'
import { DEFAULT_FILTERED_QUERY_PARAMS, filterUrl, ociBlobDigest, parseUrl, taskIdFor } from './task-id.js'

const TEST = { timeout: 30_000 }
const RUNS = { numRuns: 300 }

const HEX = '0123456789abcdef'
const hexString = (length: number): fc.Arbitrary<string> =>
  fc.string({ unit: fc.constantFrom(...HEX.split('')), minLength: length, maxLength: length })

/** Text of every kind: printable ASCII, any code point, control characters, URL punctuation. */
const anyText = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary' }),
  fc.string({ unit: 'binary-ascii' }),
  fc.string({ unit: fc.constantFrom('a', 'Z', '0', '%', '+', '=', '&', '?', '#', ' ', '/', ':', '@', '\n', '\t', 'é') }),
)

const host = fc.oneof(fc.domain(), fc.ipV4(), fc.constant('[::1]'), fc.constantFrom('localhost:8080', 'registry-1.docker.io'))
const path = fc.array(fc.string({ unit: fc.constantFrom('a', 'b', '0', '.', '-', '_', '%20', 'é') }), { maxLength: 4 })
  .map((segments) => `/${segments.join('/')}`)
/** One query parameter as the client sent it, name and value each URL-encoded. */
const param = (name: fc.Arbitrary<string>): fc.Arbitrary<string> =>
  fc.tuple(name, anyText, fc.boolean()).map(([key, value, withValue]) =>
    withValue ? `${encodeURIComponent(key)}=${encodeURIComponent(value)}` : encodeURIComponent(key))

const FILTERED = new Set(DEFAULT_FILTERED_QUERY_PARAMS)
const keptName = anyText.filter((name) => name !== '' && !FILTERED.has(name))
const filteredName = fc.constantFrom(...DEFAULT_FILTERED_QUERY_PARAMS)

function urlOf(base: string, params: readonly string[], fragment = ''): string {
  return `${base}${params.length === 0 ? '' : `?${params.join('&')}`}${fragment}`
}

/** Inserts `extra` among `params` at positions fast-check picks, keeping the order of both. */
const interleaved = (params: readonly string[], extra: readonly string[]): fc.Arbitrary<string[]> =>
  fc.array(fc.boolean(), { minLength: params.length + extra.length, maxLength: params.length + extra.length }).map((picks) => {
    const out: string[] = []
    let p = 0
    let e = 0
    for (const pickExtra of picks) {
      if ((pickExtra && e < extra.length) || p >= params.length) out.push(extra[e++] ?? '')
      else out.push(params[p++] ?? '')
    }
    return out
  })

/** A label as the local API lets it through: no control characters. */
const label = fc.option(fc.string({ unit: 'grapheme', maxLength: 20 }), { nil: undefined })

describe('taskIdFor: properties', TEST, () => {
  it('names every parseable URL with 64 lowercase hex digits and refuses the rest with INVALID_ARGUMENT', TEST, () => {
    fc.assert(fc.property(fc.oneof(fc.webUrl({ withQueryParameters: true, withFragments: true }), anyText), label, (url, tag) => {
      const outcome = outcomeOf(() => taskIdFor({ url, tag }), 'INVALID_ARGUMENT')
      assert.equal(outcome.accepted, URL.canParse(url))
      if (outcome.accepted) {
        assert.ok(isTaskId(outcome.value), outcome.value)
        assert.equal(taskIdFor({ url, tag }), outcome.value, 'the same input names the same task')
      } else {
        assert.ok(outcome.error.message.includes(JSON.stringify(url)), outcome.error.message)
      }
    }), RUNS)
  })

  it('ignores filtered query parameters wherever they stand, and the fragment', TEST, () => {
    const input = fc.record({
      base: fc.tuple(fc.constantFrom('http', 'https'), host, path).map(([scheme, h, p]) => `${scheme}://${h}${p}`),
      kept: fc.array(param(keptName), { maxLength: 4 }),
      dropped: fc.array(param(filteredName), { maxLength: 4 }),
      fragment: fc.option(anyText.map((text) => `#${encodeURIComponent(text)}`), { nil: '' }),
    }).chain((parts) => interleaved(parts.kept, parts.dropped).map((all) => ({ ...parts, all })))
    fc.assert(fc.property(input, ({ base, kept, all, fragment }) => {
      assert.equal(taskIdFor({ url: urlOf(base, all, fragment) }), taskIdFor({ url: urlOf(base, kept) }))
    }), RUNS)
  })

  it('tells apart URLs that differ in a parameter that is not filtered', TEST, () => {
    const input = fc.record({
      base: fc.tuple(fc.constantFrom('http', 'https'), host, path).map(([scheme, h, p]) => `${scheme}://${h}${p}`),
      kept: fc.array(param(keptName), { maxLength: 4 }),
      added: param(keptName),
      at: fc.nat(),
    })
    fc.assert(fc.property(input, ({ base, kept, added, at }) => {
      const more = [...kept]
      more.splice(at % (kept.length + 1), 0, added)
      assert.notEqual(taskIdFor({ url: urlOf(base, more) }), taskIdFor({ url: urlOf(base, kept) }))
    }), RUNS)
  })

  it('gives each tag, application and fixed piece length a task of its own', TEST, () => {
    const identity = fc.record({ tag: label, application: label, pieceLengthBytes: fc.option(fc.integer({ min: 1, max: 2 ** 31 }), { nil: undefined }) })
    fc.assert(fc.property(fc.webUrl(), identity, identity, (url, a, b) => {
      // An empty tag or application is no tag or application.
      const same = (a.tag || undefined) === (b.tag || undefined)
        && (a.application || undefined) === (b.application || undefined)
        && a.pieceLengthBytes === b.pieceLengthBytes
      assert.equal(taskIdFor({ url, ...a }) === taskIdFor({ url, ...b }), same)
    }), RUNS)
  })

  it('names an OCI blob by its digest alone, whatever registry, repository or query serves it', TEST, () => {
    const repository = fc.array(fc.stringMatching(/^[a-z0-9]+(?:[._-][a-z0-9]+)*$/), { minLength: 1, maxLength: 3 }).map((parts) => parts.join('/'))
    const blobUrl = fc.tuple(fc.constantFrom('http', 'https'), host, repository, fc.array(param(keptName), { maxLength: 2 }))
    fc.assert(fc.property(hexString(64), blobUrl, blobUrl, (hex, [s1, h1, r1, q1], [s2, h2, r2, q2]) => {
      const first = urlOf(`${s1}://${h1}/v2/${r1}/blobs/sha256:${hex}`, q1)
      const second = urlOf(`${s2}://${h2}/v2/${r2}/blobs/sha256:${hex}`, q2)
      assert.equal(ociBlobDigest(new URL(first)), `sha256:${hex}`)
      assert.equal(taskIdFor({ url: first }), taskIdFor({ url: second }))
    }), RUNS)
  })

  it('finds a blob digest only in /v2/<repository>/blobs/sha256:<hex>', TEST, () => {
    // Not '.' or '..': the URL parser resolves those before anyone sees the path.
    const component = fc.string({ unit: fc.constantFrom('a', 'z', '0', '.', '_', '-', 'A', '%2F'), maxLength: 6 })
      .filter((part) => part !== '.' && part !== '..')
    const digest = fc.oneof(
      hexString(64).map((hex) => `sha256:${hex}`),
      fc.mixedCase(hexString(64)).map((hex) => `sha256:${hex}`),
      fc.tuple(fc.constantFrom('sha256', 'sha512', 'SHA256', ''), fc.oneof(hexString(63), hexString(64), hexString(65), anyText)).map(([a, hex]) => `${a}:${hex}`),
    )
    const input = fc.tuple(fc.array(component, { maxLength: 3 }), fc.constantFrom('blobs', 'manifests', 'blob'), digest, fc.constantFrom('', '/', '?q=1', '#f'))
    fc.assert(fc.property(input, ([repository, kind, tail, suffix]) => {
      const url = new URL(`https://r.io/v2/${repository.join('/')}${repository.length === 0 ? '' : '/'}${kind}/${tail}${suffix}`)
      const name = /^[a-z0-9]+(?:[._-][a-z0-9]+)*$/
      const expected = repository.length > 0 && repository.every((part) => name.test(part)) && kind === 'blobs'
        && /^sha256:[0-9a-f]{64}$/.test(tail) && (suffix === '' || suffix.startsWith('?') || suffix.startsWith('#'))
      assert.equal(ociBlobDigest(url), expected ? tail : undefined, url.href)
    }), RUNS)
  })
})

describe('filterUrl and parseUrl: properties', TEST, () => {
  it('keeps the other parameters in order, drops the fragment, and is idempotent', TEST, () => {
    const input = fc.record({
      url: fc.oneof(fc.webUrl({ withQueryParameters: true, withFragments: true }), anyText.map((text) => `http://h/?${text}`)),
      names: fc.array(fc.oneof(filteredName, anyText), { maxLength: 4 }),
    })
    fc.assert(fc.property(input, ({ url, names }) => {
      fc.pre(URL.canParse(url))
      const filtered = filterUrl(new URL(url), names)
      const again = new URL(filtered)
      assert.equal(again.hash, '')
      assert.equal(filterUrl(again, names), filtered)
      const before = new URL(url).search.slice(1).split('&').filter((part) => part !== '')
      const after = again.search.slice(1).split('&').filter((part) => part !== '')
      let next = 0
      for (const part of after) {
        next = before.indexOf(part, next) + 1
        assert.ok(next > 0, `${part} of ${filtered} is not in ${url}, or out of order`)
      }
    }), RUNS)
  })

  it('parses exactly what the WHATWG URL parser parses, refusing the rest with INVALID_ARGUMENT', TEST, () => {
    fc.assert(fc.property(fc.oneof(fc.webUrl(), anyText, fc.string({ maxLength: 9000 })), (text) => {
      const outcome = outcomeOf(() => parseUrl(text), 'INVALID_ARGUMENT')
      assert.equal(outcome.accepted, URL.canParse(text))
      if (outcome.accepted) assert.equal(outcome.value.href, new URL(text).href)
    }), RUNS)
  })
})

describe('isTaskId: properties', TEST, () => {
  it('holds exactly for 64 lowercase hex digits', TEST, () => {
    fc.assert(fc.property(fc.oneof(hexString(64), hexString(63), hexString(65), fc.mixedCase(hexString(64)), anyText), (text) => {
      const expected = text.length === 64 && text.split('').every((char) => HEX.includes(char))
      assert.equal(isTaskId(text), expected)
    }), RUNS)
  })

  it('fails for a task id with any one character changed to a non-hex one', TEST, () => {
    fc.assert(fc.property(hexString(64), fc.nat(63), fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }), (id, at, char) => {
      fc.pre(!HEX.includes(char))
      assert.equal(isTaskId(`${id.slice(0, at)}${char}${id.slice(at + 1)}`), false)
    }), RUNS)
  })
})
