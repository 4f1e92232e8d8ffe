import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { DamselflyError, type ErrorDetails } from '../../protocol/damselfly-error.js'
import { ERROR_CODES, type ErrorCode } from '../../protocol/error-codes.js'
import { decodeResult, encodeResult } from './local-api.js'

const TEST = { timeout: 30_000 }
const RUNS = { numRuns: 500 }

const CODES = Object.keys(ERROR_CODES) as ErrorCode[]
/** Any UTF-16 text, lone surrogates included: a message may quote whatever a peer or origin sent. */
const utf16 = fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((unit) => String.fromCharCode(unit)) })
const text = fc.oneof(fc.string(), fc.string({ unit: 'binary' }), utf16)
const details: fc.Arbitrary<ErrorDetails> = fc.record(
  { sourceStatus: fc.integer({ min: 100, max: 599 }), taskId: text, url: text },
  { requiredKeys: [], noNullPrototype: true },
)
const failure = fc.tuple(fc.constantFrom(...CODES), text, details).map(([code, message, d]) => new DamselflyError(code, message, { details: d }))

/** Characters a trailer value may hold without any escaping. */
const TRAILER_SAFE = /^[A-Za-z0-9\-_.!~*'()%]*$/

describe('local API result trailer: properties', TEST, () => {
  it('reads back every outcome it writes, as a trailer value that needs no escaping', TEST, () => {
    fc.assert(fc.property(fc.option(failure, { nil: undefined }), (error) => {
      const trailer = encodeResult(error)
      assert.match(trailer, TRAILER_SAFE)
      const decoded = decodeResult(trailer)
      if (error === undefined) {
        assert.equal(decoded, undefined)
        return
      }
      assert.ok(decoded instanceof DamselflyError)
      // JSON keeps lone surrogates as escapes, so even those come back as they were.
      assert.deepEqual(decoded.toJSON(), error.toJSON())
    }), RUNS)
  })

  it('never throws on a trailer from anywhere: success only for ok, INTERNAL when unreadable', TEST, () => {
    const trailer = fc.oneof(
      text,
      fc.constantFrom('ok', 'OK', ' ok', '', '%', '%E0%A4%A', 'null', '{}', '%7B%7D', 'ok\r\n'),
      fc.jsonValue().map((value) => encodeURIComponent(JSON.stringify(value))),
      fc.record({ code: fc.oneof(fc.constantFrom(...CODES), fc.string()), message: fc.oneof(fc.string(), fc.integer()), details: fc.jsonValue() }, { requiredKeys: [] })
        .map((value) => encodeURIComponent(JSON.stringify(value))),
    )
    fc.assert(fc.property(fc.option(trailer, { nil: undefined }), (value) => {
      const decoded = decodeResult(value)
      if (value === 'ok') {
        assert.equal(decoded, undefined)
        return
      }
      assert.ok(decoded instanceof DamselflyError, String(value))
      const d = decoded.details
      assert.ok(d.sourceStatus === undefined || typeof d.sourceStatus === 'number')
      assert.ok(d.taskId === undefined || typeof d.taskId === 'string')
      assert.ok(d.url === undefined || typeof d.url === 'string')
      let written: unknown
      try {
        written = JSON.parse(decodeURIComponent(value ?? ''))
      } catch {
        written = undefined
      }
      const readable = typeof written === 'object' && written !== null && CODES.includes((written as { code?: ErrorCode }).code as ErrorCode)
        && typeof (written as { message?: unknown }).message === 'string'
      if (!readable) assert.equal(decoded.code, 'INTERNAL')
      else assert.equal(decoded.code, (written as { code: ErrorCode }).code)
    }), RUNS)
  })
})
