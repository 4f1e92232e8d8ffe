import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { headerValue, originHeaders, parseContentLength, parseContentRange, parseUnsatisfiedRange, printableUrl } from './http-headers.js'

const TEST = { timeout: 30_000 }
const RUNS = { numRuns: 500 }

const DIGIT = fc.constantFrom(...'0123456789'.split(''))
const number = fc.oneof(
  fc.nat(1000).map(String),
  fc.bigInt({ min: 0n, max: 2n ** 64n }).map(String),
  fc.constantFrom(String(Number.MAX_SAFE_INTEGER), String(Number.MAX_SAFE_INTEGER + 1), '00', '-0', '1e3', '0x10', '1.0', '+1', '١'),
  fc.string({ unit: DIGIT, minLength: 1, maxLength: 400 }),
)
const space = fc.constantFrom('', ' ', '\t', '  ')
const text = fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.string({ unit: fc.constantFrom(...'bytes */-0123456789\t'.split('')) }))

/** The exact integer the text names, when it is plain digits within the safe range. */
function safeInteger(digits: string): number | undefined {
  if (!/^\d+$/.test(digits)) return undefined
  const value = BigInt(digits)
  return value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : undefined
}

describe('parseContentLength: properties', TEST, () => {
  it('reads plain digits within the safe integers, exactly, and nothing else', TEST, () => {
    fc.assert(fc.property(space, number, space, (before, digits, after) => {
      assert.equal(parseContentLength(`${before}${digits}${after}`), safeInteger(digits))
    }), RUNS)
  })

  it('never throws, and answers a non-negative safe integer or undefined', TEST, () => {
    fc.assert(fc.property(fc.option(text, { nil: undefined }), (value) => {
      const length = parseContentLength(value)
      if (length !== undefined) assert.ok(Number.isSafeInteger(length) && length >= 0, String(length))
    }), RUNS)
  })

  it('reads back every length written in decimal', TEST, () => {
    fc.assert(fc.property(fc.maxSafeNat(), (length) => {
      assert.equal(parseContentLength(String(length)), length)
    }), RUNS)
  })
})

describe('parseContentRange: properties', TEST, () => {
  it('reads back every range it could be sent, with or without the complete length', TEST, () => {
    const range = fc.tuple(fc.maxSafeNat(), fc.maxSafeNat(), fc.maxSafeNat()).map((values) => values.sort((a, b) => a - b))
    fc.assert(fc.property(range, fc.boolean(), fc.constantFrom('bytes', 'BYTES', 'Bytes'), space, ([first, last, size], known, unit, pad) => {
      fc.pre(last < size)
      const value = `${pad}${unit} ${first}-${last}/${known ? size : '*'}${pad}`
      assert.deepEqual(parseContentRange(value), { firstByte: first, lastByte: last, completeLengthBytes: known ? size : undefined })
    }), RUNS)
  })

  it('accepts only ranges whose ends are in order and within the complete length', TEST, () => {
    const value = fc.oneof(
      fc.tuple(number, number, fc.oneof(number, fc.constant('*'))).map(([a, b, c]) => `bytes ${a}-${b}/${c}`),
      text,
    )
    fc.assert(fc.property(fc.option(value, { nil: undefined }), (header) => {
      const range = parseContentRange(header)
      if (range === undefined) return
      const { firstByte, lastByte, completeLengthBytes } = range
      assert.ok(Number.isSafeInteger(firstByte) && Number.isSafeInteger(lastByte) && firstByte >= 0, JSON.stringify(range))
      assert.ok(firstByte <= lastByte, JSON.stringify(range))
      if (completeLengthBytes !== undefined) {
        assert.ok(Number.isSafeInteger(completeLengthBytes) && lastByte < completeLengthBytes, JSON.stringify(range))
      }
      const match = /^bytes\s+(\d+)-(\d+)\/(\d+|\*)$/i.exec(header?.trim() ?? '')
      assert.ok(match !== null, String(header))
      assert.equal(firstByte, safeInteger(match[1] ?? ''))
      assert.equal(lastByte, safeInteger(match[2] ?? ''))
    }), RUNS)
  })
})

describe('parseUnsatisfiedRange: properties', TEST, () => {
  it('reads the complete length of bytes */<n> exactly, and nothing else', TEST, () => {
    fc.assert(fc.property(fc.oneof(number, text), fc.constantFrom('bytes */', 'BYTES */', 'bytes  */', 'bytes 0-1/', 'bytes*/'), space, (digits, prefix, pad) => {
      // Trailing spaces of the value are trimmed with the padding.
      const expected = prefix.endsWith(' */') ? safeInteger(digits.trimEnd()) : undefined
      assert.equal(parseUnsatisfiedRange(`${pad}${prefix}${digits}${pad}`), expected)
    }), RUNS)
  })
})

describe('originHeaders: properties', TEST, () => {
  const DROPPED = ['connection', 'keep-alive', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'host', 'range', 'expect']
  const name = fc.oneof(
    fc.constantFrom(...DROPPED, 'Connection', 'HOST', 'Range', 'Proxy-Authorization', 'proxy-connection', 'Authorization', 'User-Agent', 'X-Custom', 'Accept'),
    fc.stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,12}$/),
  )
  const headers = fc.dictionary(name, fc.string(), { maxKeys: 8 }).chain((caller) => {
    const names = Object.keys(caller)
    if (names.length === 0) return fc.constant(caller)
    // A Connection header that names some of the others, in any case, with spaces and empty items.
    return fc.subarray(names).map((listed) => ({ ...caller, Connection: listed.map((n) => ` ${n.toUpperCase()} `).join(',') }))
  })

  it('forwards every end-to-end header lowercased, drops the hop-by-hop ones, and always sends a User-Agent', TEST, () => {
    fc.assert(fc.property(headers, fc.string({ minLength: 1 }), (caller, userAgent) => {
      const out = originHeaders(caller, { userAgent })
      const listed = new Set(Object.entries(caller).filter(([n]) => n.toLowerCase() === 'connection')
        .flatMap(([, value]) => value.split(',').map((token) => token.trim().toLowerCase())))
      const hopByHop = (lower: string): boolean => DROPPED.includes(lower) || lower.startsWith('proxy-') || listed.has(lower)
      for (const key of Object.keys(out)) {
        assert.equal(key, key.toLowerCase())
        // The User-Agent is the source's own when the caller's was dropped.
        if (key !== 'user-agent') assert.ok(!hopByHop(key), `${key} is hop-by-hop`)
      }
      for (const n of Object.keys(caller)) {
        const lower = n.toLowerCase()
        if (hopByHop(lower)) continue
        // Of names equal but for case, the last one given wins.
        const last = Object.entries(caller).filter(([other]) => other.toLowerCase() === lower).at(-1)?.[1]
        assert.equal(out[lower], last, n)
      }
      const given = Object.keys(caller).some((n) => n.toLowerCase() === 'user-agent')
      if (!given || listed.has('user-agent')) assert.equal(out['user-agent'], userAgent)
    }), RUNS)
  })
})

describe('headerValue and printableUrl: properties', TEST, () => {
  it('takes the first of repeated header values', TEST, () => {
    fc.assert(fc.property(fc.string(), fc.oneof(fc.string(), fc.array(fc.string(), { minLength: 1 })), (n, value) => {
      assert.equal(headerValue({ [n]: value }, n), Array.isArray(value) ? value[0] : value)
    }), RUNS)
  })

  it('never prints credentials, a query or a fragment', TEST, () => {
    const url = fc.tuple(
      fc.webUrl({ validSchemes: ['http', 'https'], withQueryParameters: true, withFragments: true }),
      fc.stringMatching(/^[a-z]{1,8}$/),
      fc.stringMatching(/^[A-Za-z0-9]{1,12}$/),
    ).map(([base, user, password]) => new URL(base.replace('://', `://${user}:${password}@`)))
    fc.assert(fc.property(url, (parsed) => {
      const printed = printableUrl(parsed)
      const again = new URL(printed)
      assert.equal(again.username, '')
      assert.equal(again.password, '')
      assert.equal(again.search, '')
      assert.equal(again.hash, '')
      assert.equal(again.host, parsed.host)
      assert.equal(again.pathname, parsed.pathname)
    }), RUNS)
  })
})
