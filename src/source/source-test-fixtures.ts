import assert from 'node:assert/strict'
import type { Readable } from 'node:stream'
import { DamselflyError } from '../protocol/damselfly-error.js'

// Helpers shared by the source's test files (excluded from the build as a *-fixtures.ts file).

export async function readAll(body: Readable): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of body) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}

/** The DamselflyError `promise` rejects with; fails the test when it resolves or rejects otherwise. */
export async function rejection(promise: Promise<unknown>): Promise<DamselflyError> {
  try {
    await promise
  } catch (error) {
    assert.ok(error instanceof DamselflyError, `expected a DamselflyError, got ${String(error)}`)
    return error
  }
  return assert.fail('expected a rejection')
}
