import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { TaskId } from '../../protocol/ids.js'
import { relayedSourceFailure } from './relayed-source-failure.js'

const TEST = { timeout: 5_000 }
const ASKED = { url: 'http://origin.test/dir/file?X-Amz-Signature=secret', digest: `sha256:${'a'.repeat(64)}`, taskId: 'b'.repeat(64) as TaskId }

describe('relayedSourceFailure', TEST, () => {
  it('fails with SOURCE_STATUS and the origin\'s status, as a fetch of its own would, without the query', TEST, () => {
    const error = relayedSourceFailure({ code: 'SOURCE_STATUS', sourceStatus: 404 }, ASKED)
    assert.equal(error?.code, 'SOURCE_STATUS')
    assert.equal(error.details.sourceStatus, 404)
    assert.equal(error.message, 'origin answered 404 Not Found for http://origin.test/dir/file (to the seed peer fetching it for this host)')
  })

  it('fails with DIGEST_MISMATCH when this peer expects a digest', TEST, () => {
    const error = relayedSourceFailure({ code: 'DIGEST_MISMATCH', sourceStatus: 0 }, ASKED)
    assert.equal(error?.code, 'DIGEST_MISMATCH')
    assert.match(error.message, /does not match sha256:a{64}/)
  })

  const unusable = [
    ['a status a retry may change', { code: 'SOURCE_STATUS', sourceStatus: 503 }],
    ['too many requests', { code: 'SOURCE_STATUS', sourceStatus: 429 }],
    ['a status out of range', { code: 'SOURCE_STATUS', sourceStatus: 200 }],
    ['a code this daemon does not relay', { code: 'NO_SPACE', sourceStatus: 0 }],
    ['an unknown code', { code: 'EXPLODED', sourceStatus: 404 }],
  ] as const
  for (const [name, failed] of unusable) {
    it(`leaves ${name} to a fetch of its own`, TEST, () => {
      assert.equal(relayedSourceFailure({ ...failed }, ASKED), undefined)
    })
  }

  it('leaves a digest mismatch to a fetch of its own when this peer expects no digest', TEST, () => {
    assert.equal(relayedSourceFailure({ code: 'DIGEST_MISMATCH', sourceStatus: 0 }, { ...ASKED, digest: undefined }), undefined)
  })
})
