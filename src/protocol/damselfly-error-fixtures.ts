import assert from 'node:assert/strict'
import { DamselflyError } from './damselfly-error.js'
import type { ErrorCode } from './error-codes.js'

// For tests only (excluded from the build as a *-fixtures.ts file).

/** Asserts that `run` throws a DamselflyError with `code` whose message matches every pattern. */
export function assertThrowsCode(run: () => unknown, code: ErrorCode, ...messages: readonly RegExp[]): void {
  assert.throws(run, (error: unknown) => {
    assert.ok(error instanceof DamselflyError)
    assert.equal(error.code, code)
    for (const message of messages) assert.match(error.message, message)
    return true
  })
}

/** Asserts that `promise` rejects with a DamselflyError with `code` whose message matches every pattern. */
export async function assertRejectsCode(promise: Promise<unknown>, code: ErrorCode, ...messages: readonly RegExp[]): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof DamselflyError, `expected a DamselflyError, got ${String(error)}`)
    assert.equal(error.code, code, error.message)
    for (const message of messages) assert.match(error.message, message)
    return true
  })
}

export type Outcome<T> = { readonly accepted: true; readonly value: T } | { readonly accepted: false; readonly error: DamselflyError }

/**
 * Runs `run` for a property whose input may be accepted or refused: its value, or the
 * DamselflyError it threw when the code is one of `codes`. Anything else it throws fails the test.
 */
export function outcomeOf<T>(run: () => T, ...codes: readonly ErrorCode[]): Outcome<T> {
  try {
    return { accepted: true, value: run() }
  } catch (error) {
    assert.ok(error instanceof DamselflyError, `threw ${String(error)} instead of a DamselflyError`)
    assert.ok(codes.includes(error.code), `threw ${error.code} (${error.message}) instead of ${codes.join(' or ')}`)
    return { accepted: false, error }
  }
}
