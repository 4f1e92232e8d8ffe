import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { DamselflyError, isDamselflyError, toDamselflyError, type ErrorDetails } from './damselfly-error.js'
import { ERROR_CODES, type ErrorCode } from './error-codes.js'

const TEST = { timeout: 10_000 }

describe('DamselflyError JSON', TEST, () => {
  const cases: ReadonlyArray<{ code: ErrorCode; message: string; details: ErrorDetails }> = [
    { code: 'SOURCE_STATUS', message: 'origin answered 503', details: { sourceStatus: 503, url: 'http://example.com/a', taskId: 'ab'.repeat(32) } },
    { code: 'TASK_NOT_FOUND', message: 'no such task', details: { taskId: 'cd'.repeat(32) } },
    { code: 'INTERNAL', message: 'a bug', details: {} },
  ]
  for (const { code, message, details } of cases) {
    it(`round-trips ${code} through JSON text`, TEST, () => {
      const error = new DamselflyError(code, message, { details })
      const parsed = DamselflyError.fromJSON(JSON.parse(JSON.stringify(error)))
      assert.ok(parsed instanceof DamselflyError)
      assert.equal(parsed.code, code)
      assert.equal(parsed.message, message)
      assert.deepEqual(parsed.details, details)
      assert.equal(parsed.httpStatus, ERROR_CODES[code].httpStatus)
      assert.deepEqual(parsed.toJSON(), { code, message, details })
    })
  }

  const junk: ReadonlyArray<{ name: string; value: unknown }> = [
    { name: 'null', value: null },
    { name: 'undefined', value: undefined },
    { name: 'a string', value: 'SOURCE_STATUS' },
    { name: 'a number', value: 42 },
    { name: 'an array', value: ['INTERNAL', 'x'] },
    { name: 'an empty object', value: {} },
    { name: 'an unknown code', value: { code: 'NOPE', message: 'x' } },
    { name: 'a code inherited from Object', value: { code: 'toString', message: 'x' } },
    { name: 'a missing message', value: { code: 'INTERNAL' } },
    { name: 'a message that is not text', value: { code: 'INTERNAL', message: 1 } },
  ]
  for (const { name, value } of junk) {
    it(`fromJSON rejects ${name}`, TEST, () => {
      assert.equal(DamselflyError.fromJSON(value), undefined)
    })
  }

  it('fromJSON keeps only details of the right type', TEST, () => {
    const parsed = DamselflyError.fromJSON({ code: 'SOURCE_STATUS', message: 'm', details: { sourceStatus: '503', taskId: 7, url: 'http://x/', extra: true } })
    assert.ok(parsed !== undefined)
    assert.deepEqual(parsed.details, { url: 'http://x/' })
  })

  it('fromJSON tolerates details that are not an object', TEST, () => {
    assert.deepEqual(DamselflyError.fromJSON({ code: 'INTERNAL', message: 'm', details: 'junk' })?.details, {})
  })
})

describe('toDamselflyError', TEST, () => {
  it('returns a DamselflyError unchanged', TEST, () => {
    const error = new DamselflyError('NO_SPACE', 'disk full')
    assert.equal(toDamselflyError(error, 'STORAGE_FAILED'), error)
  })

  it('wraps a foreign Error with the fallback code, keeping it as cause', TEST, () => {
    const cause = new Error('ECONNRESET: socket hang up\n    at somewhere')
    const wrapped = toDamselflyError(cause, 'SOURCE_UNREACHABLE')
    assert.equal(wrapped.code, 'SOURCE_UNREACHABLE')
    assert.equal(wrapped.message, 'ECONNRESET: socket hang up')
    assert.equal(wrapped.cause, cause)
  })

  it('defaults to INTERNAL', TEST, () => {
    assert.equal(toDamselflyError(new TypeError('x is undefined')).code, 'INTERNAL')
  })

  const thrown: ReadonlyArray<{ name: string; value: unknown; message: string }> = [
    { name: 'a string', value: 'boom', message: 'boom' },
    { name: 'a number', value: 42, message: '42' },
    { name: 'undefined', value: undefined, message: 'undefined' },
  ]
  for (const { name, value, message } of thrown) {
    it(`wraps ${name} thrown, keeping it as cause`, TEST, () => {
      const wrapped = toDamselflyError(value)
      assert.equal(wrapped.code, 'INTERNAL')
      assert.equal(wrapped.message, message)
      assert.equal(wrapped.cause, value)
    })
  }

  it('maps an AbortError to CANCELLED', TEST, () => {
    const controller = new AbortController()
    controller.abort()
    const reason: unknown = controller.signal.reason
    assert.ok(reason instanceof Error)
    assert.equal(reason.name, 'AbortError')
    const wrapped = toDamselflyError(reason, 'SOURCE_UNREACHABLE')
    assert.equal(wrapped.code, 'CANCELLED')
    assert.equal(wrapped.cause, reason)
  })

  it('isDamselflyError checks the class and, when given, the code', TEST, () => {
    const error = new DamselflyError('CANCELLED', 'gone')
    assert.equal(isDamselflyError(error), true)
    assert.equal(isDamselflyError(error, 'CANCELLED'), true)
    assert.equal(isDamselflyError(error, 'INTERNAL'), false)
    assert.equal(isDamselflyError(new Error('x')), false)
    assert.equal(isDamselflyError({ code: 'CANCELLED', message: 'x' }), false)
  })
})
