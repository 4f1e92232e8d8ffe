import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { InstantClock } from '../../common/instant-clock.js'
import { DamselflyError } from '../../protocol/damselfly-error.js'
import type { Source, SourceRequest, SourceStat } from '../../source/source.js'
import { SourceRegistry } from '../../source/source-registry.js'
import { BlobAccess, MAX_REMEMBERED_GRANTS } from './blob-access.js'
import { parseDownloadRequest, type DownloadRequest } from './download-request.js'

const TEST = { timeout: 30_000 }
const TTL_MS = 60_000

/** A registry that counts the HEADs it is asked, and refuses one credential. */
class CountingRegistry implements Source {
  readonly schemes = ['http', 'https'] as const
  readonly asked: string[] = []

  stat(request: SourceRequest): Promise<SourceStat> {
    this.asked.push(request.url.pathname)
    if (request.headers['authorization'] === 'Bearer refused') {
      return Promise.reject(new DamselflyError('SOURCE_STATUS', 'the origin answered 403', { details: { sourceStatus: 403 } }))
    }
    return Promise.resolve({ contentLengthBytes: 1, rangeSupported: true })
  }

  fetchRange(): never {
    throw new Error('not used')
  }

  fetch(): never {
    throw new Error('not used')
  }

  close(): Promise<void> {
    return Promise.resolve()
  }
}

function blob(number: number, authorization = 'Bearer ok'): DownloadRequest {
  return parseDownloadRequest({ url: `https://registry.example/v2/app/blobs/sha256:${number.toString(16).padStart(64, '0')}`, headers: { authorization } })
}

function setup(cacheTtlMs = TTL_MS): { access: BlobAccess; registry: CountingRegistry; clock: InstantClock } {
  const registry = new CountingRegistry()
  const clock = new InstantClock()
  return { access: new BlobAccess({ sources: new SourceRegistry([registry]), clock }, { cacheTtlMs }), registry, clock }
}

describe('BlobAccess', TEST, () => {
  it('asks the registry once per credential and blob within the TTL, and again after it', TEST, async () => {
    const { access, registry, clock } = setup()
    const signal = new AbortController().signal
    await access.check(blob(1), signal)
    await access.check(blob(1), signal)
    assert.equal(registry.asked.length, 1)
    await access.check(blob(1, 'Bearer other'), signal)
    assert.equal(registry.asked.length, 2, 'another credential is asked for itself')
    clock.advance(TTL_MS - 1)
    await access.check(blob(1), signal)
    assert.equal(registry.asked.length, 2)
    clock.advance(2)
    await access.check(blob(1), signal)
    assert.equal(registry.asked.length, 3, 'an expired grant is asked again')
  })

  it('remembers no refusal: a refused client is asked again each time', TEST, async () => {
    const { access, registry } = setup()
    const signal = new AbortController().signal
    for (let attempt = 0; attempt < 3; attempt++) await assert.rejects(access.check(blob(1, 'Bearer refused'), signal), /refused these credentials for it \(403\)/)
    assert.equal(registry.asked.length, 3)
  })

  it('asks every time with a TTL of 0', TEST, async () => {
    const { access, registry } = setup(0)
    const signal = new AbortController().signal
    await access.check(blob(1), signal)
    await access.check(blob(1), signal)
    assert.equal(registry.asked.length, 2)
  })

  it('when full, forgets only the least recently used grant, not every grant at once', TEST, async () => {
    const { access, registry } = setup()
    const signal = new AbortController().signal
    for (let number = 0; number < MAX_REMEMBERED_GRANTS; number++) await access.check(blob(number), signal)
    await access.check(blob(0), signal)
    assert.equal(registry.asked.length, MAX_REMEMBERED_GRANTS, 'all of them remembered up to the bound; blob 0 is now the most recently used')
    await access.check(blob(MAX_REMEMBERED_GRANTS), signal)
    const asked = registry.asked.length
    // Every grant but blob 1's (the least recently used) is still remembered: no stampede of re-checks.
    for (let number = 2; number <= MAX_REMEMBERED_GRANTS; number++) await access.check(blob(number), signal)
    await access.check(blob(0), signal)
    assert.equal(registry.asked.length, asked)
    await access.check(blob(1), signal)
    assert.equal(registry.asked.length, asked + 1, 'the evicted grant is asked again')
  })
})
