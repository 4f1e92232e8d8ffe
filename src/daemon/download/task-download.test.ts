import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { describe, it } from 'node:test'
import { Registry } from 'prom-client'
import { InstantClock } from '../../common/instant-clock.js'
import { silentLogger } from '../../common/logger.js'
import { SourceSlots } from './source-slots.js'
import { TokenBucket } from '../../common/token-bucket.js'
import { DamselflyError, isDamselflyError } from '../../protocol/damselfly-error.js'
import type { ErrorCode } from '../../protocol/error-codes.js'
import type { TaskId } from '../../protocol/ids.js'
import { pieceLengthFor } from '../../protocol/piece.js'
import { DEFAULT_FILTERED_QUERY_PARAMS, taskIdFor } from '../../protocol/task-id.js'
import type { ByteRange, Source, SourceBody, SourceRequest, SourceResponse, SourceStat } from '../../source/source.js'
import { SourceRegistry } from '../../source/source-registry.js'
import { bodyOfChunks } from '../../source/source-test-fixtures.js'
import type { ContentStore, StoredTask } from '../../storage/content-store.js'
import { readRange } from '../../storage/content-store.contract.js'
import { MemoryContentStore } from '../../storage/memory-content-store.js'
import { writeWholePiece } from '../../storage/piece-writer.js'
import { DaemonMetrics } from '../daemon-metrics.js'
import { MAX_SOURCE_RANGE_BYTES } from './source-fetcher.js'
import { parseDownloadRequest, type DownloadRequestBody } from './download-request.js'
import { TaskDownload, type TaskDownloadComponents } from './task-download.js'
import { TaskManager, type TaskHandle } from './task-manager.js'

const TEST = { timeout: 10_000 }
const KIB = 1024
const MIB = 1024 * KIB
/** The smallest piece length a request may fix, so a few hundred KiB make several pieces. */
const PIECE_BYTES = 64 * KIB
/** Five whole pieces and a short sixth. */
const CONTENT_BYTES = 5 * PIECE_BYTES + 1234
const PIECES = 6
const URL_TEXT = 'https://origin.test/files/app.tar.gz'

/** Bytes that differ at every offset, so a piece written at the wrong place shows. */
function contentOf(length: number, seed = 0): Buffer {
  const bytes = Buffer.alloc(length)
  for (let index = 0; index < length; index++) bytes[index] = (index * 31 + seed * 7 + (index >> 9)) & 0xff
  return bytes
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex')
}

function sourceStatus(status: number): DamselflyError {
  return new DamselflyError('SOURCE_STATUS', `origin answered ${status}`, { details: { sourceStatus: status } })
}

interface FakeOriginInit {
  readonly content: Buffer
  /** What stat reports; true unless said otherwise. */
  readonly rangeSupported?: boolean
  /** fetchRange fails with SOURCE_RANGE_UNSUPPORTED, as a source does when the origin answers 200. */
  readonly ignoresRanges?: boolean
  /** stat reports no length and fetch sends no length, as a chunked response. */
  readonly unknownLength?: boolean
  readonly etag?: string
  readonly lastModified?: string
  /** Failures handed out one per call, in order, before calls succeed. */
  readonly statFailures?: DamselflyError[]
  readonly wholeFailures?: DamselflyError[]
  /** By range offset. */
  readonly rangeFailures?: Map<number, DamselflyError[]>
  /** A range whose response waits for the returned promise. */
  readonly holdRange?: (range: ByteRange) => Promise<void> | undefined
  /** By range offset: responses that end early, after this many bytes, one per call. */
  readonly cutRanges?: Map<number, number[]>
}

/** An in-memory origin behind the Source interface, counting every call. */
class FakeSource implements Source {
  readonly schemes = ['http', 'https'] as const
  readonly calls = { stat: 0, range: 0, whole: 0 }
  readonly rangesFetched: ByteRange[] = []
  readonly requests: SourceRequest[] = []

  constructor(private readonly origin: FakeOriginInit) {}

  stat(request: SourceRequest): Promise<SourceStat> {
    this.calls.stat++
    this.requests.push(request)
    const failure = this.origin.statFailures?.shift()
    if (failure !== undefined) return Promise.reject(failure)
    return Promise.resolve({
      contentLengthBytes: this.origin.unknownLength === true ? undefined : this.origin.content.length,
      rangeSupported: this.origin.rangeSupported ?? true,
      etag: this.origin.etag,
      lastModified: this.origin.lastModified,
      contentType: 'application/octet-stream',
    })
  }

  async fetchRange(request: SourceRequest, range: ByteRange): Promise<SourceResponse> {
    this.calls.range++
    this.requests.push(request)
    this.rangesFetched.push(range)
    const hold = this.origin.holdRange?.(range)
    if (hold !== undefined) await hold
    const failure = this.origin.rangeFailures?.get(range.offset)?.shift()
    if (failure !== undefined) throw failure
    if (this.origin.ignoresRanges === true) throw new DamselflyError('SOURCE_RANGE_UNSUPPORTED', 'origin ignored the range request and answered 200')
    const cut = this.origin.cutRanges?.get(range.offset)?.shift()
    return { contentLengthBytes: range.length, body: bodyOf(this.origin.content.subarray(range.offset, range.offset + (cut ?? range.length)), request.signal) }
  }

  fetch(request: SourceRequest): Promise<SourceResponse> {
    this.calls.whole++
    this.requests.push(request)
    const failure = this.origin.wholeFailures?.shift()
    if (failure !== undefined) return Promise.reject(failure)
    const { content } = this.origin
    return Promise.resolve({ contentLengthBytes: this.origin.unknownLength === true ? undefined : content.length, body: bodyOf(content, request.signal) })
  }

  close(): Promise<void> {
    return Promise.resolve()
  }

  offsetsFetched(): number[] {
    return this.rangesFetched.map((range) => range.offset).sort((a, b) => a - b)
  }

  /** The ranges asked for, by offset, as [first piece, piece count] of `pieceBytes` pieces. */
  runsFetched(pieceBytes = PIECE_BYTES): Array<[number, number]> {
    return [...this.rangesFetched].sort((a, b) => a.offset - b.offset).map((range) => [range.offset / pieceBytes, Math.ceil(range.length / pieceBytes)])
  }
}

/**
 * Asserts that the ranges asked of the origin cover the content exactly once, apart from one
 * repeat of each range at `retriedOffsets` (asked again after a failure).
 */
function assertFetchedOnce(source: FakeSource, contentBytes: number, retriedOffsets: readonly number[] = []): void {
  const ranges = [...source.rangesFetched].sort((a, b) => a.offset - b.offset)
  for (const offset of retriedOffsets) {
    const repeat = ranges.findIndex((range, index) => range.offset === offset && ranges[index + 1]?.offset === offset)
    assert.notEqual(repeat, -1, `the range at ${offset} was asked again`)
    ranges.splice(repeat, 1)
  }
  let next = 0
  for (const range of ranges) {
    assert.equal(range.offset, next, 'ranges neither overlap nor leave a gap')
    next += range.length
  }
  assert.equal(next, contentBytes)
}

/** Odd-sized chunks, so pieces never line up with them. */
function bodyOf(bytes: Buffer, signal: AbortSignal): SourceBody {
  const chunks: Buffer[] = []
  for (let offset = 0; offset < bytes.length; offset += 10_007) chunks.push(bytes.subarray(offset, offset + 10_007))
  return bodyOfChunks(chunks, signal)
}


interface Harness {
  readonly store: ContentStore
  readonly source: FakeSource
  readonly clock: InstantClock
  readonly metrics: DaemonMetrics
  readonly components: TaskDownloadComponents
  /** Every ensureSpace call's neededBytes. */
  readonly spaceCalls: number[]
}

function harness(origin: FakeOriginInit, options: { ensureSpace?: (neededBytes: number) => Promise<void>; store?: ContentStore } = {}): Harness {
  const clock = new InstantClock()
  const store = options.store ?? new MemoryContentStore({ logger: silentLogger(), clock })
  const source = new FakeSource(origin)
  const metrics = new DaemonMetrics(new Registry())
  const spaceCalls: number[] = []
  const ensureSpace = options.ensureSpace ?? (() => Promise.resolve())
  const components: TaskDownloadComponents = {
    store,
    sources: new SourceRegistry([source]),
    limiters: { download: new TokenBucket({ clock }, { rateBytesPerSecond: 0 }), source: new TokenBucket({ clock }, { rateBytesPerSecond: 0 }) },
    sourceSlots: new SourceSlots({ limit: 8 }),
    ensureSpace: (neededBytes) => {
      spaceCalls.push(neededBytes)
      return ensureSpace(neededBytes)
    },
    metrics,
    logger: silentLogger(),
    clock,
  }
  return { store, source, clock, metrics, components, spaceCalls }
}

function requestOf(body: Partial<DownloadRequestBody> = {}) {
  return parseDownloadRequest({ url: URL_TEXT, pieceLength: PIECE_BYTES, ...body })
}

function taskIdOf(body: Partial<DownloadRequestBody> = {}): TaskId {
  const request = requestOf(body)
  return taskIdFor({ url: request.url, pieceLengthBytes: request.pieceLengthBytes, tag: request.tag, application: request.application })
}

function start(h: Harness, body: Partial<DownloadRequestBody> = {}, init: { retryCount?: number; concurrentPieceCount?: number } = {}): TaskDownload {
  return new TaskDownload(h.components, {
    taskId: taskIdOf(body),
    request: requestOf(body),
    filteredUrl: URL_TEXT,
    filteredQueryParams: DEFAULT_FILTERED_QUERY_PARAMS,
    concurrentPieceCount: init.concurrentPieceCount ?? 3,
    retryCount: init.retryCount ?? 2,
  })
}

/** What `handle.send` delivers, copied as it arrives (the sender reuses a chunk's memory once its promise resolved). */
async function sendAll(handle: TaskHandle, start: number, endInclusive: number | undefined, signal: AbortSignal, received: Buffer[] = []): Promise<Buffer> {
  await handle.send(start, endInclusive, (chunk) => {
    received.push(Buffer.from(chunk))
    return Promise.resolve()
  }, signal)
  return Buffer.concat(received)
}

/** Asserts the task is complete and holds exactly `content`, each piece with the sha256 of its bytes. */
async function assertHolds(task: StoredTask, content: Buffer, pieceLengthBytes = PIECE_BYTES): Promise<void> {
  assert.equal(task.complete, true)
  assert.equal(task.descriptor.contentLengthBytes, content.length)
  assert.equal(task.descriptor.pieceLengthBytes, pieceLengthBytes)
  const count = Math.ceil(content.length / pieceLengthBytes)
  assert.equal(task.finishedPieceCount, count)
  for (let number = 0; number < count; number++) {
    const offset = number * pieceLengthBytes
    const bytes = content.subarray(offset, offset + pieceLengthBytes)
    assert.deepEqual(task.piece(number), { number, offset, length: bytes.length, digest: sha256(bytes) })
  }
  if (content.length > 0) assert.ok((await readRange(task, 0, content.length - 1)).equals(content), 'stored bytes differ')
}

/** Stores `numbers` of `content` under the test task id, as a crash would have left them. */
async function storePieces(store: ContentStore, content: Buffer, numbers: readonly number[], validators: { etag?: string; lastModified?: string } = {}): Promise<void> {
  const task = await store.create({
    taskId: taskIdOf(),
    url: URL_TEXT,
    contentLengthBytes: content.length,
    pieceLengthBytes: PIECE_BYTES,
    etag: validators.etag,
    lastModified: validators.lastModified,
    createdAtMs: 0,
  })
  for (const number of numbers) {
    await writeWholePiece(task, number, [content.subarray(number * PIECE_BYTES, (number + 1) * PIECE_BYTES)])
  }
}

/** A memory store whose disk is full after `pieceLimit` pieces, as a file store's then is. */
class FullDiskStore extends MemoryContentStore {
  constructor(components: ConstructorParameters<typeof MemoryContentStore>[0], private readonly pieceLimit: number) {
    super(components)
  }

  override async create(descriptor: Parameters<ContentStore['create']>[0]): Promise<StoredTask> {
    const task = await super.create(descriptor)
    const openPiece = task.openPiece.bind(task)
    let written = 0
    return Object.assign(Object.create(task) as StoredTask, {
      openPiece: (number: number) => {
        const writer = openPiece(number)
        if (writer === undefined || written++ < this.pieceLimit) return writer
        return Object.assign(writer, {
          commit: () => {
            writer.abort()
            return Promise.reject(new DamselflyError('NO_SPACE', `the disk is full: writing piece ${number} failed`))
          },
        })
      },
    })
  }
}

async function rejectsWith(promise: Promise<unknown>, code: ErrorCode): Promise<DamselflyError> {
  let caught: unknown
  await assert.rejects(promise, (error: unknown) => {
    caught = error
    return isDamselflyError(error, code)
  })
  assert.ok(caught instanceof DamselflyError)
  return caught
}

async function gaugeValue(h: Harness): Promise<number | undefined> {
  return (await h.metrics.activeDownloads.get()).values[0]?.value
}

describe('TaskDownload', TEST, () => {
  it('downloads every piece; the store holds the bytes and each piece its sha256', TEST, async () => {
    const content = contentOf(CONTENT_BYTES)
    const h = harness({ content, etag: '"v1"' })
    const download = start(h)
    const task = await download.done
    await assertHolds(task, content)
    assert.deepEqual({ ...h.source.calls, range: 0 }, { stat: 1, range: 0, whole: 0 })
    // Three workers: two pieces in the first range (6 / 3), then one each as the end nears.
    assert.deepEqual(h.source.runsFetched(), [[0, 2], [2, 1], [3, 1], [4, 1], [5, 1]])
    assertFetchedOnce(h.source, CONTENT_BYTES)
    assert.deepEqual(h.spaceCalls, [CONTENT_BYTES])
    assert.equal(task.descriptor.etag, '"v1"')
    assert.equal(task.descriptor.url, URL_TEXT)
    assert.equal(h.store.get(taskIdOf()), task)
    assert.equal((await download.descriptor).contentLengthBytes, CONTENT_BYTES)
    assert.equal(await gaugeValue(h), 0)
    assert.deepEqual(h.clock.sleeps, [])
  })

  it('asks the origin for runs of consecutive pieces, shorter as the end nears', TEST, async () => {
    const content = contentOf(20 * PIECE_BYTES)
    const h = harness({ content })
    await assertHolds(await start(h, {}, { concurrentPieceCount: 2 }).done, content)
    // Half of what is left per worker: 10 of 20, 5 of 10, 2 of 5, then single pieces.
    assert.deepEqual(h.source.runsFetched(), [[0, 10], [10, 5], [15, 2], [17, 1], [18, 1], [19, 1]])
  })

  it(`asks for at most ${MAX_SOURCE_RANGE_BYTES} bytes in one range`, TEST, async () => {
    const runPieces = MAX_SOURCE_RANGE_BYTES / PIECE_BYTES
    const content = contentOf(3 * runPieces * PIECE_BYTES)
    const h = harness({ content })
    await assertHolds(await start(h, {}, { concurrentPieceCount: 1 }).done, content)
    assert.deepEqual(h.source.runsFetched(), [[0, runPieces], [runPieces, runPieces], [2 * runPieces, runPieces]])
  })

  it('a range that breaks off is asked again from its first piece not stored', TEST, async () => {
    const content = contentOf(CONTENT_BYTES)
    // The first range (pieces 0 to 2) ends halfway through piece 1.
    const h = harness({ content, cutRanges: new Map([[0, [PIECE_BYTES + PIECE_BYTES / 2]]]) })
    await assertHolds(await start(h, {}, { concurrentPieceCount: 2, retryCount: 1 }).done, content)
    assert.deepEqual(h.source.runsFetched(), [[0, 3], [1, 2], [3, 1], [4, 1], [5, 1]])
  })

  it('passes the request headers to the source', TEST, async () => {
    const h = harness({ content: contentOf(CONTENT_BYTES) })
    await start(h, { headers: { Authorization: 'Bearer t' } }).done
    assert.ok(h.source.requests.length > 0)
    for (const request of h.source.requests) {
      assert.deepEqual(request.headers, { Authorization: 'Bearer t' })
      assert.equal(request.url.href, URL_TEXT)
    }
  })

  it('uses the computed piece length when the request fixes none', TEST, async () => {
    const content = contentOf(2 * MIB + 1)
    const h = harness({ content })
    const request = parseDownloadRequest({ url: URL_TEXT })
    const taskId = taskIdFor({ url: request.url })
    const task = await new TaskDownload(h.components, { taskId, request, filteredUrl: URL_TEXT, filteredQueryParams: DEFAULT_FILTERED_QUERY_PARAMS, concurrentPieceCount: 2, retryCount: 0 }).done
    await assertHolds(task, content, pieceLengthFor(content.length))
    assert.equal(h.source.calls.range, 3)
  })

  it('completes empty content without fetching a piece', TEST, async () => {
    const h = harness({ content: Buffer.alloc(0) })
    const task = await start(h).done
    assert.equal(task.complete, true)
    assert.equal(task.descriptor.contentLengthBytes, 0)
    assert.equal(task.finishedPieceCount, 0)
    assert.deepEqual(h.source.calls, { stat: 1, range: 0, whole: 0 })
  })

  it('resumes: pieces already stored are not fetched again', TEST, async () => {
    const content = contentOf(CONTENT_BYTES)
    const h = harness({ content, etag: '"v1"' })
    await storePieces(h.store, content, [0, 2, 5], { etag: '"v1"' })
    const task = await start(h).done
    await assertHolds(task, content)
    assert.deepEqual(h.source.offsetsFetched(), [1, 3, 4].map((n) => n * PIECE_BYTES))
    // Space only for what is still missing: two whole pieces and the short last one are stored.
    assert.deepEqual(h.spaceCalls, [CONTENT_BYTES - 2 * PIECE_BYTES - 1234])
  })

  it('a complete task is returned without asking the origin', TEST, async () => {
    const content = contentOf(CONTENT_BYTES)
    const h = harness({ content })
    await storePieces(h.store, content, [0, 1, 2, 3, 4, 5])
    await h.store.get(taskIdOf())?.finish()
    const task = await start(h).done
    await assertHolds(task, content)
    assert.deepEqual(h.source.calls, { stat: 0, range: 0, whole: 0 })
  })

  const changed: ReadonlyArray<{ name: string; stored: { length: number; etag?: string; lastModified?: string }; origin: { etag?: string; lastModified?: string } }> = [
    { name: 'a different length', stored: { length: CONTENT_BYTES - 1000, etag: '"v1"' }, origin: { etag: '"v1"' } },
    { name: 'a different etag', stored: { length: CONTENT_BYTES, etag: '"v1"' }, origin: { etag: '"v2"' } },
    {
      name: 'a different last-modified',
      stored: { length: CONTENT_BYTES, lastModified: 'Mon, 01 Jan 2024 00:00:00 GMT' },
      origin: { lastModified: 'Tue, 02 Jan 2024 00:00:00 GMT' },
    },
  ]
  for (const { name, stored, origin } of changed) {
    it(`origin content changed (${name}): starts over`, TEST, async () => {
      const content = contentOf(CONTENT_BYTES, 1)
      const h = harness({ content, ...origin })
      // What an earlier run stored of the old content.
      await storePieces(h.store, contentOf(stored.length, 2), [0, 1], stored)
      const task = await start(h).done
      await assertHolds(task, content)
      assertFetchedOnce(h.source, CONTENT_BYTES)
      assert.deepEqual(h.spaceCalls, [CONTENT_BYTES])
    })
  }

  const transient: ReadonlyArray<{ name: string; failure: () => DamselflyError }> = [
    { name: 'SOURCE_STATUS 503', failure: () => sourceStatus(503) },
    { name: 'SOURCE_STATUS 500', failure: () => sourceStatus(500) },
    { name: 'SOURCE_STATUS 429', failure: () => sourceStatus(429) },
    { name: 'SOURCE_STATUS 408', failure: () => sourceStatus(408) },
    { name: 'SOURCE_UNREACHABLE', failure: () => new DamselflyError('SOURCE_UNREACHABLE', 'connection refused') },
    { name: 'SOURCE_TIMEOUT', failure: () => new DamselflyError('SOURCE_TIMEOUT', 'no answer') },
    { name: 'SOURCE_TRUNCATED', failure: () => new DamselflyError('SOURCE_TRUNCATED', 'ended early') },
  ]
  for (const { name, failure } of transient) {
    it(`retries a piece after ${name} and succeeds`, TEST, async () => {
      const content = contentOf(CONTENT_BYTES)
      const h = harness({ content, rangeFailures: new Map([[2 * PIECE_BYTES, [failure()]]]) })
      const task = await start(h, {}, { retryCount: 2 }).done
      await assertHolds(task, content)
      assertFetchedOnce(h.source, CONTENT_BYTES, [2 * PIECE_BYTES])
      assert.deepEqual(h.clock.sleeps, [200])
    })
  }

  it('retries stat after a 503', TEST, async () => {
    const content = contentOf(CONTENT_BYTES)
    const h = harness({ content, statFailures: [sourceStatus(503)] })
    await assertHolds(await start(h, {}, { retryCount: 2 }).done, content)
    assert.equal(h.source.calls.stat, 2)
    assert.deepEqual(h.clock.sleeps, [200])
  })

  it('retries up to retryCount times with a growing delay', TEST, async () => {
    const content = contentOf(CONTENT_BYTES)
    const h = harness({ content, rangeFailures: new Map([[0, [sourceStatus(503), sourceStatus(503)]]]) })
    await assertHolds(await start(h, {}, { retryCount: 2 }).done, content)
    assert.deepEqual(h.clock.sleeps, [200, 400])
  })

  it('fails SOURCE_STATUS once the retries are used up', TEST, async () => {
    const h = harness({ content: contentOf(CONTENT_BYTES), rangeFailures: new Map([[0, [sourceStatus(503), sourceStatus(503), sourceStatus(503)]]]) })
    const error = await rejectsWith(start(h, {}, { retryCount: 2 }).done, 'SOURCE_STATUS')
    assert.equal(error.details.sourceStatus, 503)
    assert.equal(h.source.rangesFetched.filter((range) => range.offset === 0).length, 3)
    assert.deepEqual(h.clock.sleeps, [200, 400])
  })

  const permanent: ReadonlyArray<{ name: string; failure: () => DamselflyError; code: ErrorCode }> = [
    { name: 'SOURCE_STATUS 404', failure: () => sourceStatus(404), code: 'SOURCE_STATUS' },
    { name: 'SOURCE_STATUS 403', failure: () => sourceStatus(403), code: 'SOURCE_STATUS' },
    { name: 'CANCELLED', failure: () => new DamselflyError('CANCELLED', 'gone'), code: 'CANCELLED' },
  ]
  for (const { name, failure, code } of permanent) {
    it(`does not retry a piece after ${name}`, TEST, async () => {
      const h = harness({ content: contentOf(CONTENT_BYTES), rangeFailures: new Map([[0, [failure()]]]) })
      const download = start(h, {}, { retryCount: 2 })
      await rejectsWith(download.done, code)
      assert.equal(h.source.rangesFetched.filter((range) => range.offset === 0).length, 1)
      assert.deepEqual(h.clock.sleeps, [])
      assert.equal(await gaugeValue(h), 0)
    })

    it(`does not retry stat after ${name}`, TEST, async () => {
      const h = harness({ content: contentOf(CONTENT_BYTES), statFailures: [failure()] })
      const download = start(h, {}, { retryCount: 2 })
      await rejectsWith(download.done, code)
      await rejectsWith(download.descriptor, code)
      assert.deepEqual(h.source.calls, { stat: 1, range: 0, whole: 0 })
      assert.deepEqual(h.clock.sleeps, [])
      assert.equal(h.store.get(taskIdOf()), undefined)
    })
  }

  it('an origin that ignores ranges and says so: one piece try, then one whole fetch', TEST, async () => {
    const content = contentOf(CONTENT_BYTES)
    const h = harness({ content, rangeSupported: false, ignoresRanges: true })
    const task = await start(h).done
    await assertHolds(task, content)
    assert.deepEqual(h.source.calls, { stat: 1, range: 1, whole: 1 })
  })

  it('an origin that does not advertise ranges but honours them is still fetched by pieces', TEST, async () => {
    const content = contentOf(CONTENT_BYTES)
    const h = harness({ content, rangeSupported: false })
    await assertHolds(await start(h).done, content)
    assert.deepEqual(h.source.calls, { stat: 1, range: PIECES, whole: 0 })
  })

  it('an origin that advertises ranges but ignores them still falls back to one whole fetch', TEST, async () => {
    const content = contentOf(CONTENT_BYTES)
    const h = harness({ content, rangeSupported: true, ignoresRanges: true })
    const task = await start(h).done
    await assertHolds(task, content)
    assert.equal(h.source.calls.whole, 1)
  })

  it('unknown length: streams the whole content into pieces and finish sets the length', TEST, async () => {
    const content = contentOf(CONTENT_BYTES)
    const h = harness({ content, unknownLength: true, rangeSupported: false })
    const download = start(h)
    // Reading `done` starts the download; the descriptor follows.
    const done = download.done
    assert.equal((await download.descriptor).contentLengthBytes, undefined)
    const task = await done
    await assertHolds(task, content)
    assert.deepEqual(h.source.calls, { stat: 1, range: 0, whole: 1 })
    // Nothing to measure up front; then room for a whole piece before each piece is written, as its length is not known yet.
    assert.deepEqual(h.spaceCalls, [0, ...Array<number>(6).fill(PIECE_BYTES)])
  })

  it('unknown length: stops at the reserved space with NO_SPACE and removes what it wrote', TEST, async () => {
    const content = contentOf(CONTENT_BYTES)
    let spaceLeftBytes = 3 * PIECE_BYTES
    const h = harness({ content, unknownLength: true, rangeSupported: false }, {
      ensureSpace: (neededBytes) => {
        if (neededBytes > spaceLeftBytes) return Promise.reject(new DamselflyError('NO_SPACE', 'not enough disk space in /data'))
        spaceLeftBytes -= neededBytes
        return Promise.resolve()
      },
    })
    const error = await rejectsWith(start(h).done, 'NO_SPACE')
    assert.equal(error.message, 'the disk is full after 192.0 KiB of content of unknown length: not enough disk space in /data')
    assert.equal(h.source.calls.whole, 1, 'a full disk is not retried')
    assert.equal(h.store.get(taskIdOf()), undefined)
    assert.equal(h.store.usedBytes(), 0)
  })

  it('a known length that cannot be stored fails NO_SPACE and keeps no partial task', TEST, async () => {
    const content = contentOf(CONTENT_BYTES)
    const h = harness({ content }, { store: new FullDiskStore({ logger: silentLogger(), clock: new InstantClock() }, 2) })
    await rejectsWith(start(h, {}, { concurrentPieceCount: 1 }).done, 'NO_SPACE')
    assert.equal(h.store.get(taskIdOf()), undefined)
    assert.equal(h.store.usedBytes(), 0)
  })

  it('unknown length: retries the whole fetch after a 503', TEST, async () => {
    const content = contentOf(CONTENT_BYTES)
    const h = harness({ content, unknownLength: true, wholeFailures: [sourceStatus(503)] })
    await assertHolds(await start(h).done, content)
    assert.equal(h.source.calls.whole, 2)
    assert.deepEqual(h.clock.sleeps, [200])
  })

  // Fails today: verifyContentDigest hashes `descriptor.contentLengthBytes ?? 0` bytes, and for
  // content of unknown length that is still undefined before finish(), so it hashes nothing,
  // reports a mismatch and deletes the correct content.
  it('unknown length: a correct whole-content digest passes', TEST, async () => {
    const content = contentOf(CONTENT_BYTES)
    const h = harness({ content, unknownLength: true, rangeSupported: false })
    const digest = `sha256:${sha256(content)}`
    const task = await start(h, { digest }).done
    await assertHolds(task, content)
    assert.equal(task.verifiedDigest, digest)
  })

  const digests: ReadonlyArray<{ algorithm: string; of: (bytes: Buffer) => string }> = [
    { algorithm: 'sha256', of: (bytes) => `sha256:${sha256(bytes)}` },
    { algorithm: 'sha512', of: (bytes) => `sha512:${createHash('sha512').update(bytes).digest('hex')}` },
  ]
  for (const { algorithm, of } of digests) {
    it(`a matching ${algorithm} digest is checked and recorded`, TEST, async () => {
      const content = contentOf(CONTENT_BYTES)
      const h = harness({ content })
      const task = await start(h, { digest: of(content) }).done
      await assertHolds(task, content)
      assert.equal(task.verifiedDigest, of(content))
    })

    it(`a ${algorithm} digest mismatch fails DIGEST_MISMATCH and deletes the task`, TEST, async () => {
      const content = contentOf(CONTENT_BYTES)
      const h = harness({ content })
      const error = await rejectsWith(start(h, { digest: of(contentOf(CONTENT_BYTES, 9)) }).done, 'DIGEST_MISMATCH')
      assert.equal(error.details.taskId, taskIdOf({ digest: of(contentOf(CONTENT_BYTES, 9)) }))
      assert.equal(h.store.get(taskIdOf()), undefined)
      assert.equal(h.store.usedBytes(), 0)
    })
  }

  it('disableBackToSource with nothing stored fails BACK_TO_SOURCE_DISABLED without asking the origin', TEST, async () => {
    const h = harness({ content: contentOf(CONTENT_BYTES) })
    const download = start(h, { disableBackToSource: true })
    await rejectsWith(download.done, 'BACK_TO_SOURCE_DISABLED')
    await rejectsWith(download.descriptor, 'BACK_TO_SOURCE_DISABLED')
    assert.deepEqual(h.source.calls, { stat: 0, range: 0, whole: 0 })
    assert.deepEqual(h.spaceCalls, [])
  })

  it('disableBackToSource with some pieces stored still fails: only a complete task is served', TEST, async () => {
    const content = contentOf(CONTENT_BYTES)
    const h = harness({ content })
    await storePieces(h.store, content, [0, 1])
    await rejectsWith(start(h, { disableBackToSource: true }).done, 'BACK_TO_SOURCE_DISABLED')
    assert.deepEqual(h.source.calls, { stat: 0, range: 0, whole: 0 })
  })

  it('ensureSpace failing with NO_SPACE fails the download before any range fetch', TEST, async () => {
    const h = harness(
      { content: contentOf(CONTENT_BYTES) },
      { ensureSpace: () => Promise.reject(new DamselflyError('NO_SPACE', 'need more room')) },
    )
    await rejectsWith(start(h).done, 'NO_SPACE')
    assert.deepEqual(h.source.calls, { stat: 1, range: 0, whole: 0 })
    assert.deepEqual(h.spaceCalls, [CONTENT_BYTES])
    assert.equal(h.store.get(taskIdOf()), undefined)
  })

  it('stop aborts the download and waits for it', TEST, async () => {
    let release: () => void = () => undefined
    const held = new Promise<void>((resolve) => { release = resolve })
    const h = harness({ content: contentOf(CONTENT_BYTES), holdRange: (range) => (range.offset === 0 ? undefined : held) })
    const download = start(h, {}, { concurrentPieceCount: 2 })
    const done = download.done
    done.catch(() => undefined)
    await download.descriptor
    const stopped = download.stop()
    release()
    await stopped
    await rejectsWith(done, 'SHUTTING_DOWN')
    assert.equal(await gaugeValue(h), 0)
  })
})

describe('TaskManager', TEST, () => {
  it('two concurrent downloads of one task share one source download, and reads stream in order while it runs', TEST, async () => {
    const content = contentOf(CONTENT_BYTES)
    let release: () => void = () => undefined
    const held = new Promise<void>((resolve) => { release = resolve })
    // Every piece but the first waits until the reader has seen the first piece's bytes.
    const h = harness({ content, holdRange: (range) => (range.offset === 0 ? undefined : held) })
    const manager = new TaskManager(h.components, { concurrentPieceCount: 2, retryCount: 0, filteredQueryParams: DEFAULT_FILTERED_QUERY_PARAMS })
    await manager.start()
    // Two signatures of the same object: the signature is filtered, so one task.
    const first = manager.download(requestOf({ url: `${URL_TEXT}?X-Amz-Signature=aaa` }))
    const second = manager.download(requestOf({ url: `${URL_TEXT}?X-Amz-Signature=bbb` }))
    assert.equal(first.taskId, second.taskId)
    assert.equal(first.taskId, taskIdOf())

    const signal = new AbortController().signal
    const whole = (async () => {
      const chunks: Buffer[] = []
      let receivedBytes = 0
      let sawPartial = false
      await first.send(0, undefined, (chunk) => {
        chunks.push(Buffer.from(chunk))
        receivedBytes += chunk.length
        if (!sawPartial && receivedBytes >= PIECE_BYTES) {
          sawPartial = true
          // The first piece reached the reader while the others were still held at the origin.
          assert.equal(h.store.get(first.taskId)?.complete, false)
          release()
        }
        return Promise.resolve()
      }, signal)
      assert.ok(sawPartial)
      return Buffer.concat(chunks)
    })()
    const middle = sendAll(second, PIECE_BYTES + 10, 3 * PIECE_BYTES + 5, signal)

    assert.ok((await whole).equals(content), 'the full read differs from the content')
    assert.ok((await middle).equals(content.subarray(PIECE_BYTES + 10, 3 * PIECE_BYTES + 6)), 'the ranged read differs')
    const [taskOfFirst, taskOfSecond] = await Promise.all([first.done, second.done])
    assert.equal(taskOfFirst, taskOfSecond)
    await assertHolds(taskOfFirst, content)
    assertFetchedOnce(h.source, CONTENT_BYTES)
    const calls = { ...h.source.calls }
    assert.equal(taskOfFirst.descriptor.url, URL_TEXT)

    // A later request for the complete task is served from the store.
    const later = manager.download(requestOf())
    assert.ok((await sendAll(later, 0, undefined, signal)).equals(content))
    assert.deepEqual(h.source.calls, calls)
    await manager.stop()
  })

  it('abort fails a running download with CANCELLED for every client of it, and keeps what was stored', TEST, async () => {
    let release: () => void = () => undefined
    const held = new Promise<void>((resolve) => { release = resolve })
    const h = harness({ content: contentOf(CONTENT_BYTES), holdRange: (range) => (range.offset === 0 ? undefined : held) })
    const manager = new TaskManager(h.components, { concurrentPieceCount: 2, retryCount: 0, filteredQueryParams: DEFAULT_FILTERED_QUERY_PARAMS })
    const first = manager.download(requestOf())
    const second = manager.download(requestOf())
    await first.descriptor
    assert.equal(manager.isRunning(first.taskId), true)
    const aborted = manager.abort(first.taskId, 'job deleted')
    release()
    assert.equal(await aborted, true)
    for (const handle of [first, second]) assert.match((await rejectsWith(handle.done, 'CANCELLED')).message, /job deleted/)
    assert.equal(manager.isRunning(first.taskId), false)
    assert.equal(h.store.get(first.taskId)?.complete, false, 'the partial task stays, for a later download to resume')
    assert.equal(await manager.abort(first.taskId, 'again'), false, 'nothing runs any more')
    await manager.stop()
  })

  it('paces a download by the request\'s own bucket on top of the host\'s', TEST, async () => {
    const h = harness({ content: contentOf(CONTENT_BYTES) })
    const manager = new TaskManager(h.components, { concurrentPieceCount: 2, retryCount: 0, filteredQueryParams: DEFAULT_FILTERED_QUERY_PARAMS })
    const rateBytesPerSecond = 64 * KIB
    const startedMs = h.clock.nowMs()
    await manager.download({ ...requestOf(), rateLimiter: new TokenBucket({ clock: h.clock }, { rateBytesPerSecond }) }).done
    // The first burst is free; every byte after it waits its turn at 64 KiB/s.
    const expectedMs = ((CONTENT_BYTES - rateBytesPerSecond) / rateBytesPerSecond) * 1000
    assert.ok(h.clock.nowMs() - startedMs >= expectedMs * 0.9, `took ${h.clock.nowMs() - startedMs} ms of clock time, expected about ${expectedMs}`)
    await manager.stop()
  })

  it('a send waits for its sink, and stops at the sink\'s failure or the signal, leaving the task free', TEST, async () => {
    const content = contentOf(CONTENT_BYTES)
    const h = harness({ content })
    const manager = new TaskManager(h.components, { concurrentPieceCount: 2, retryCount: 0, filteredQueryParams: DEFAULT_FILTERED_QUERY_PARAMS })
    const handle = manager.download(requestOf())
    await handle.done
    const inUse = (): boolean => h.store.list().some((task) => task.inUse)

    // One chunk at a time while the sink holds it: a slow client holds back the read.
    let holding = 0
    const received: Buffer[] = []
    await handle.send(0, undefined, async (chunk) => {
      holding++
      assert.equal(holding, 1, 'a second chunk came while the sink still held the first')
      await new Promise((resolve) => setImmediate(resolve))
      received.push(Buffer.from(chunk))
      holding--
    }, AbortSignal.timeout(5_000))
    assert.ok(Buffer.concat(received).equals(content))

    let calls = 0
    const gone = new DamselflyError('CANCELLED', 'the client went away')
    await assert.rejects(handle.send(0, undefined, () => {
      calls++
      return Promise.reject(gone)
    }, AbortSignal.timeout(5_000)), (error: unknown) => error === gone)
    assert.equal(calls, 1, 'the send went on after its sink failed')
    assert.equal(inUse(), false)

    const client = new AbortController()
    await assert.rejects(handle.send(0, undefined, () => {
      client.abort(gone)
      return Promise.resolve()
    }, client.signal), (error: unknown) => error === gone)
    assert.equal(inUse(), false)
    await manager.stop()
  })

  it('a joiner with a wrong digest fails DIGEST_MISMATCH while the first request succeeds', TEST, async () => {
    const content = contentOf(CONTENT_BYTES)
    const h = harness({ content })
    const manager = new TaskManager(h.components, { concurrentPieceCount: 2, retryCount: 0, filteredQueryParams: DEFAULT_FILTERED_QUERY_PARAMS })
    const first = manager.download(requestOf())
    const joiner = manager.download(requestOf({ digest: `sha256:${sha256(contentOf(10))}` }))
    await assertHolds(await first.done, content)
    await rejectsWith(joiner.done, 'DIGEST_MISMATCH')
    await manager.stop()
  })

  it('never hands a reader the whole of content that fails its digest: the last piece waits for the check', TEST, async () => {
    const content = contentOf(CONTENT_BYTES)
    const h = harness({ content })
    const manager = new TaskManager(h.components, { concurrentPieceCount: 2, retryCount: 0, filteredQueryParams: DEFAULT_FILTERED_QUERY_PARAMS })
    const forged = manager.download(requestOf({ digest: `sha256:${sha256(contentOf(10))}` }))
    const received: Buffer[] = []
    await assert.rejects(
      sendAll(forged, 0, undefined, new AbortController().signal, received),
      (error: unknown) => isDamselflyError(error, 'DIGEST_MISMATCH'),
    )
    const bytes = Buffer.concat(received)
    assert.ok(bytes.length <= (PIECES - 1) * PIECE_BYTES, `the reader got ${bytes.length} of ${content.length} bytes: the last piece must wait for the check`)
    assert.ok(bytes.equals(content.subarray(0, bytes.length)))
    await rejectsWith(forged.done, 'DIGEST_MISMATCH')
    const honest = manager.download(requestOf({ digest: `sha256:${sha256(content)}` }))
    assert.ok((await sendAll(honest, 0, undefined, new AbortController().signal)).equals(content))
    await manager.stop()
  })

  it('downloads a stored task again when it fails the digest a request expects', TEST, async () => {
    const content = contentOf(CONTENT_BYTES)
    const stale = contentOf(CONTENT_BYTES, 7)
    const origin = { content: stale }
    const h = harness(origin)
    const manager = new TaskManager(h.components, { concurrentPieceCount: 2, retryCount: 0, filteredQueryParams: DEFAULT_FILTERED_QUERY_PARAMS })
    await assertHolds(await manager.download(requestOf()).done, stale)
    const staleRanges = h.source.calls.range
    origin.content = content
    const checked = manager.download(requestOf({ digest: `sha256:${sha256(content)}` }))
    await assertHolds(await checked.done, content)
    assert.equal(h.source.calls.range, 2 * staleRanges, 'the stale copy was fetched again, not served')
    await manager.stop()
  })

  it('serves an OCI blob, stored or not, only after its registry accepted the client\'s credentials', TEST, async () => {
    const content = contentOf(CONTENT_BYTES)
    const blobUrl = `http://registry.test/v2/team/private/blobs/sha256:${sha256(content)}`
    const refusal = (): DamselflyError => new DamselflyError('SOURCE_STATUS', 'origin answered 401', { details: { sourceStatus: 401 } })
    const origin = { content, statFailures: [refusal()] }
    const h = harness(origin)
    const manager = new TaskManager(h.components, { concurrentPieceCount: 2, retryCount: 0, filteredQueryParams: DEFAULT_FILTERED_QUERY_PARAMS, blobAccessCacheTtlMs: 60_000 })
    const refused = manager.download(parseDownloadRequest({ url: blobUrl }))
    const error = await rejectsWith(refused.done, 'SOURCE_STATUS')
    assert.match(error.message, /refused these credentials for it \(401\)/)
    assert.equal(h.source.calls.range, 0, 'nothing was fetched')
    assert.equal(h.store.get(refused.taskId), undefined, 'nothing was registered or stored')
    // An accepted client gets it; then a refused one gets nothing of what is now stored.
    const accepted = manager.download(parseDownloadRequest({ url: blobUrl, headers: { authorization: 'Bearer good' } }))
    await assertHolds(await accepted.done, content, pieceLengthFor(content.length))
    origin.statFailures.push(refusal())
    const stranger = manager.download(parseDownloadRequest({ url: blobUrl.replace('registry.test', 'elsewhere.test') }))
    await rejectsWith(stranger.descriptor, 'SOURCE_STATUS')
    await assert.rejects(sendAll(stranger, 0, undefined, new AbortController().signal))
    // A yes is remembered per credential: the same client asks again without a HEAD.
    const statsBefore = h.source.calls.stat
    await manager.download(parseDownloadRequest({ url: blobUrl, headers: { authorization: 'Bearer good' } })).done
    assert.equal(h.source.calls.stat, statsBefore)
    await manager.stop()
  })

  it('asks the registry once for clients that ask for the same blob with the same credentials at once', TEST, async () => {
    const content = contentOf(CONTENT_BYTES)
    const blobUrl = `http://registry.test/v2/team/private/blobs/sha256:${sha256(content)}`
    const h = harness({ content })
    const manager = new TaskManager(h.components, { concurrentPieceCount: 2, retryCount: 0, filteredQueryParams: DEFAULT_FILTERED_QUERY_PARAMS, blobAccessCacheTtlMs: 60_000 })
    const handles = Array.from({ length: 20 }, () => manager.download(parseDownloadRequest({ url: blobUrl, headers: { authorization: 'Bearer good' } })))
    for (const handle of handles) await assertHolds(await handle.done, content, pieceLengthFor(content.length))
    // One HEAD for access, one for the download itself.
    assert.equal(h.source.calls.stat, 2)
    await manager.stop()
  })

  it('refuses new downloads once stopping', TEST, async () => {
    const h = harness({ content: contentOf(CONTENT_BYTES) })
    const manager = new TaskManager(h.components, { concurrentPieceCount: 2, retryCount: 0, filteredQueryParams: DEFAULT_FILTERED_QUERY_PARAMS })
    await manager.stop()
    assert.throws(() => manager.download(requestOf()), (error: unknown) => isDamselflyError(error, 'SHUTTING_DOWN'))
  })
})
