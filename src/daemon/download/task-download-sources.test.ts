import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { Registry } from 'prom-client'
import { InstantClock } from '../../common/instant-clock.js'
import { silentLogger } from '../../common/logger.js'
import { SourceSlots } from './source-slots.js'
import { TokenBucket } from '../../common/token-bucket.js'
import { DamselflyError, isDamselflyError } from '../../protocol/damselfly-error.js'
import { DEFAULT_FILTERED_QUERY_PARAMS, taskIdFor } from '../../protocol/task-id.js'
import type { Source, SourceResponse, SourceStat } from '../../source/source.js'
import { SourceRegistry } from '../../source/source-registry.js'
import { bodyOfChunks } from '../../source/source-test-fixtures.js'
import { MemoryContentStore } from '../../storage/memory-content-store.js'
import { DaemonMetrics } from '../daemon-metrics.js'
import { parseDownloadRequest, type DownloadRequest } from './download-request.js'
import { TaskDownload, type TaskDownloadComponents } from './task-download.js'

// Which source a download uses depends on whose behalf it runs on (seedPeer.sourcePolicy).

const TEST = { timeout: 10_000 }
const URL_TEXT = 'http://origin.test/file'
const CONTENT = Buffer.from('0123456789')

/** An origin behind the Source interface that counts its calls, or refuses every one with `failure`. */
class CountingSource implements Source {
  readonly schemes = ['http', 'https'] as const
  calls = 0

  constructor(private readonly failure?: DamselflyError) {}

  stat(): Promise<SourceStat> {
    this.calls++
    if (this.failure !== undefined) return Promise.reject(this.failure)
    return Promise.resolve({ contentLengthBytes: CONTENT.length, rangeSupported: false })
  }

  fetchRange(): Promise<SourceResponse> {
    return this.fetch()
  }

  fetch(): Promise<SourceResponse> {
    this.calls++
    if (this.failure !== undefined) return Promise.reject(this.failure)
    return Promise.resolve({ contentLengthBytes: CONTENT.length, body: bodyOfChunks([CONTENT]) })
  }

  close(): Promise<void> {
    return Promise.resolve()
  }
}

function components(sources: SourceRegistry, sourcesForOtherHosts: SourceRegistry | undefined, clock = new InstantClock()): TaskDownloadComponents {
  return {
    store: new MemoryContentStore({ logger: silentLogger(), clock }),
    sources,
    sourcesForOtherHosts,
    limiters: { download: new TokenBucket({ clock }, { rateBytesPerSecond: 0 }), source: new TokenBucket({ clock }, { rateBytesPerSecond: 0 }) },
    sourceSlots: new SourceSlots({ limit: 8 }),
    ensureSpace: () => Promise.resolve(),
    metrics: new DaemonMetrics(new Registry()),
    logger: silentLogger(),
    clock,
  }
}

function download(parts: TaskDownloadComponents, onBehalfOf: DownloadRequest['onBehalfOf']): TaskDownload {
  const request = { ...parseDownloadRequest({ url: URL_TEXT }), onBehalfOf }
  return new TaskDownload(parts, { taskId: taskIdFor({ url: URL_TEXT }), request, filteredUrl: URL_TEXT, filteredQueryParams: DEFAULT_FILTERED_QUERY_PARAMS, concurrentPieceCount: 2, retryCount: 3 })
}

describe('TaskDownload: the source of a download depends on whose behalf it runs on', TEST, () => {
  const cases = [
    { onBehalfOf: undefined, uses: 'own' },
    { onBehalfOf: 'this-host', uses: 'own' },
    { onBehalfOf: 'other-host', uses: 'restricted' },
  ] as const
  for (const { onBehalfOf, uses } of cases) {
    it(`a download on behalf of ${onBehalfOf ?? 'nobody said'} reads from the ${uses} sources`, TEST, async () => {
      const own = new CountingSource()
      const restricted = new CountingSource()
      const task = await download(components(new SourceRegistry([own]), new SourceRegistry([restricted])), onBehalfOf).done
      assert.equal(task.complete, true)
      assert.equal(own.calls > 0, uses === 'own')
      assert.equal(restricted.calls > 0, uses === 'restricted')
    })
  }

  it('refuses a download for another host when no restricted sources exist, without asking any origin', TEST, async () => {
    const own = new CountingSource()
    await assert.rejects(download(components(new SourceRegistry([own]), undefined), 'other-host').done, (error: unknown) => isDamselflyError(error, 'SOURCE_NOT_ALLOWED'))
    assert.equal(own.calls, 0)
  })

  it('fails at once on SOURCE_NOT_ALLOWED: a refusal is never retried', TEST, async () => {
    const refusing = new CountingSource(new DamselflyError('SOURCE_NOT_ALLOWED', '127.0.0.1 is a loopback address'))
    const clock = new InstantClock()
    const parts = components(new SourceRegistry([new CountingSource()]), new SourceRegistry([refusing]), clock)
    await assert.rejects(download(parts, 'other-host').done, (error: unknown) => isDamselflyError(error, 'SOURCE_NOT_ALLOWED'))
    assert.equal(refusing.calls, 1, 'asked once despite retryCount 3')
    assert.equal(clock.sleeps.length, 0, 'no backoff')
  })
})
