import assert from 'node:assert/strict'
import { Readable } from 'node:stream'
import { DamselflyError, toDamselflyError } from '../protocol/damselfly-error.js'
import { countedBody } from './counted-body.js'
import type { SourceBody } from './source.js'

// Helpers shared by the source's test files and the fake sources of the download's tests
// (excluded from the build as a *-fixtures.ts file).

export async function readAll(body: SourceBody): Promise<Buffer> {
  const chunks: Buffer[] = []
  await body.pipeTo((chunk) => {
    chunks.push(Buffer.from(chunk))
    return undefined
  })
  return Buffer.concat(chunks)
}

/** A body of these chunks, as a fake source answers: no length to check, cancelled by `signal`. */
export function bodyOfChunks(chunks: readonly Buffer[], signal: AbortSignal = new AbortController().signal): SourceBody {
  return countedBody(Readable.from(chunks, { objectMode: false }), { expectedBytes: undefined, signal, describe: 'the fake body', mapError: toDamselflyError })
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
