import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { DamselflyError } from '../protocol/damselfly-error.js'
import { taskIdFor, type TaskIdInput } from '../protocol/task-id.js'
import { TaskIds } from './task-ids.js'

const URL_A = 'https://origin.test/a.bin'

/** Inputs that differ in one thing each; taskIdFor gives most of them distinct ids. */
const INPUTS: ReadonlyArray<[string, TaskIdInput]> = [
  ['a URL', { url: URL_A }],
  ['with a tag', { url: URL_A, tag: 't' }],
  ['with an application', { url: URL_A, application: 'app' }],
  ['with a fixed piece length', { url: URL_A, pieceLengthBytes: 1 << 20 }],
  ['with a piece length of 0', { url: URL_A, pieceLengthBytes: 0 }],
  ['with no filtered parameters', { url: `${URL_A}?Signature=x`, filteredQueryParams: [] }],
  ['with the default filtered parameters', { url: `${URL_A}?Signature=x` }],
  ['with a signature of another client', { url: `${URL_A}?Signature=y` }],
  ['with a parameter filtered by name', { url: `${URL_A}?Signature=x`, filteredQueryParams: ['Signature'] }],
  ['an OCI blob', { url: `https://registry.test/v2/library/alpine/blobs/sha256:${'a'.repeat(64)}` }],
  ['a long presigned URL', { url: `${URL_A}?X-Amz-Signature=${'s'.repeat(4096)}&part=2` }],
]

describe('TaskIds', () => {
  it('gives the id taskIdFor gives, for each input, remembered or not', () => {
    for (const maxEntries of [1, 3, 64]) {
      const ids = new TaskIds({ maxEntries })
      for (let round = 0; round < 3; round++) {
        for (const [name, input] of INPUTS) assert.equal(ids.of(input), taskIdFor(input), `${name}, ${maxEntries} entries, round ${round}`)
      }
    }
  })

  it('throws as taskIdFor does for a malformed URL, however often asked', () => {
    const ids = new TaskIds({ maxEntries: 8 })
    for (let round = 0; round < 2; round++) {
      assert.throws(() => ids.of({ url: 'not a url' }), (error: unknown) => error instanceof DamselflyError && error.code === 'INVALID_ARGUMENT')
    }
  })
})
