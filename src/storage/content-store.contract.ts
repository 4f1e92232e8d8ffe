import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { describe, it, type TestContext } from 'node:test'
import { DamselflyError, isDamselflyError } from '../protocol/damselfly-error.js'
import { sha256Hex } from '../protocol/digest.js'
import type { ErrorCode } from '../protocol/error-codes.js'
import type { TaskId } from '../protocol/ids.js'
import type { ContentStore, StoredTask, TaskDescriptor } from './content-store.js'
import { writeWholePiece } from './piece-writer.js'

/** What a contract run needs from an implementation; `reopen` closes the store and loads it again from what it persisted. */
export interface ContentStoreHarness {
  readonly store: ContentStore
  readonly reopen?: () => Promise<ContentStore>
  readonly cleanup: () => Promise<void>
}

const TIMEOUT = { timeout: 10_000 }
/** For reads the test lets finish. */
export const NEVER_ABORTED = new AbortController().signal
const PIECE_BYTES = 1000
const CONTENT_BYTES = 4500

export function testTaskId(label: string): TaskId {
  return createHash('sha256').update(label).digest('hex') as TaskId
}

export function testDescriptor(label: string, overrides: Partial<TaskDescriptor> = {}): TaskDescriptor {
  return {
    taskId: testTaskId(label),
    url: `https://origin.test/${label}`,
    contentLengthBytes: CONTENT_BYTES,
    pieceLengthBytes: PIECE_BYTES,
    etag: '"v1"',
    createdAtMs: 1_700_000_000_000,
    ...overrides,
  }
}

/** Bytes that differ at every offset, so a piece written at the wrong place shows. */
export function testContent(length: number, seed = 0): Buffer {
  const bytes = Buffer.alloc(length)
  for (let index = 0; index < length; index++) bytes[index] = (index * 31 + seed * 7 + (index >> 8)) & 0xff
  return bytes
}

/** Writes piece `number` of `content`, handing it over in three chunks to exercise vectored writes. */
export async function writeTestPiece(task: StoredTask, content: Buffer, number: number): Promise<void> {
  const { pieceLengthBytes } = task.descriptor
  const bytes = content.subarray(number * pieceLengthBytes, Math.min(content.length, (number + 1) * pieceLengthBytes))
  const third = Math.floor(bytes.length / 3)
  const chunks = [bytes.subarray(0, third), bytes.subarray(third, 2 * third), bytes.subarray(2 * third)]
  await writeWholePiece(task, number, chunks)
}

/** Bytes `[start, endInclusive]` of a task, through `sendRange` (copied: its buffers are reused). */
export async function readRange(task: StoredTask, start: number, endInclusive: number): Promise<Buffer> {
  const chunks: Buffer[] = []
  await task.sendRange(start, endInclusive, (chunk) => {
    chunks.push(Buffer.from(chunk))
    return Promise.resolve()
  }, NEVER_ABORTED)
  return Buffer.concat(chunks)
}

async function rejectsWith(promise: Promise<unknown>, code: ErrorCode): Promise<void> {
  await assert.rejects(promise, (error) => isDamselflyError(error, code))
}

function throwsWith(run: () => unknown, code: ErrorCode): void {
  assert.throws(run, (error) => isDamselflyError(error, code))
}

/** Creates a task of `content`, writes every piece and finishes it. */
export async function completeTask(store: ContentStore, label: string, content: Buffer): Promise<StoredTask> {
  const task = await store.create(testDescriptor(label, { contentLengthBytes: content.length }))
  for (let number = 0; number * PIECE_BYTES < content.length; number++) await writeTestPiece(task, content, number)
  await task.finish()
  return task
}

type ContractCase = (store: ContentStore) => Promise<void>
type RestartCase = (store: ContentStore, reopen: () => Promise<ContentStore>) => Promise<void>

const CASES: Record<string, ContractCase> = {
  'creates, gets and lists tasks': async (store) => {
    const descriptor = testDescriptor('a')
    const task = await store.create(descriptor)
    assert.deepEqual(task.descriptor, descriptor)
    assert.equal(store.get(descriptor.taskId), task)
    assert.equal(store.get(testTaskId('unknown')), undefined)
    const [summary, ...others] = store.list()
    assert.deepEqual(others, [])
    assert.deepEqual({ ...summary, lastAccessMs: 0 }, {
      descriptor, complete: false, finishedPieceCount: 0, storedBytes: 0, lastAccessMs: 0, inUse: false,
    })
    await rejectsWith(store.create({ ...descriptor, taskId: 'not-hex' as TaskId }), 'INVALID_ARGUMENT')
    await rejectsWith(store.create({ ...descriptor, pieceLengthBytes: 0 }), 'INVALID_ARGUMENT')
  },

  'replaces a task created again under the same id': async (store) => {
    const content = testContent(CONTENT_BYTES)
    const first = await store.create(testDescriptor('a'))
    await writeTestPiece(first, content, 0)
    const second = await store.create(testDescriptor('a', { etag: '"v2"' }))
    assert.equal(second.finishedPieceCount, 0)
    assert.equal(store.get(testTaskId('a'))?.descriptor.etag, '"v2"')
    assert.equal(store.list().length, 1)
    await rejectsWith(writeTestPiece(first, content, 1), 'TASK_NOT_FOUND')
  },

  'sends a range to a sink in order, reading into no chunk the sink still holds': async (store) => {
    const content = testContent(CONTENT_BYTES)
    const task = await store.create(testDescriptor('a'))
    for (const number of [0, 1, 2, 3, 4]) await writeTestPiece(task, content, number)
    const held: Array<{ chunk: Buffer; copy: Buffer }> = []
    const sent = await (async () => {
      const parts: Buffer[] = []
      await task.sendRange(1, 4498, async (chunk) => {
        const copy = Buffer.from(chunk)
        held.push({ chunk, copy })
        parts.push(copy)
        await new Promise((resolve) => setImmediate(resolve))
        // Until this promise resolves the chunk's memory is the sink's: it must still hold what it was given.
        assert.deepEqual(chunk, copy)
      }, AbortSignal.timeout(5_000))
      return Buffer.concat(parts)
    })()
    assert.deepEqual(sent, content.subarray(1, 4499))
    assert.ok(held.length >= 1)
    throwsWith(() => task.sendRange(4000, 4500, () => Promise.resolve(), AbortSignal.timeout(5_000)), 'RANGE_NOT_SATISFIABLE')
    await rejectsWith(task.sendRange(0, 4499, () => Promise.reject(new DamselflyError('CANCELLED', 'the client went away')), AbortSignal.timeout(5_000)), 'CANCELLED')
    const partial = await store.create(testDescriptor('b'))
    await writeTestPiece(partial, content, 0)
    throwsWith(() => partial.sendRange(900, 1000, () => Promise.resolve(), AbortSignal.timeout(5_000)), 'PIECE_NOT_FOUND')
  },

  'a read stops once its signal aborts, before any byte when aborted already': async (store) => {
    const content = testContent(CONTENT_BYTES)
    const task = await store.create(testDescriptor('a'))
    for (let number = 0; number < 5; number++) await writeTestPiece(task, content, number)
    const early = new AbortController()
    early.abort()
    let sent = 0
    await assert.rejects(task.sendRange(0, 999, () => {
      sent++
      return Promise.resolve()
    }, early.signal), { name: 'AbortError' })
    assert.equal(sent, 0)
  },

  'reads back pieces written out of order, across piece boundaries': async (store) => {
    const content = testContent(CONTENT_BYTES)
    const task = await store.create(testDescriptor('a'))
    for (const number of [3, 0, 4]) await writeTestPiece(task, content, number)
    assert.deepEqual(await readRange(task, 0, 999), content.subarray(0, 1000))
    assert.deepEqual(await readRange(task, 3500, 4499), content.subarray(3500))
    throwsWith(() => task.sendRange(900, 1000, () => Promise.resolve(), NEVER_ABORTED), 'PIECE_NOT_FOUND')
    for (const number of [2, 1]) await writeTestPiece(task, content, number)
    assert.equal(task.finishedPieceCount, 5)
    assert.equal(task.piece(4)?.length, 500)
    assert.equal(task.piece(4)?.offset, 4000)
    assert.equal(task.piece(2)?.digest, sha256Hex([content.subarray(2000, 3000)]))
    for (const [start, end] of [[0, 4499], [999, 1000], [0, 0], [1500, 3700], [4499, 4499], [1, 4498]] as const) {
      assert.deepEqual(await readRange(task, start, end), content.subarray(start, end + 1), `bytes ${start}-${end}`)
    }
    throwsWith(() => task.sendRange(4000, 4500, () => Promise.resolve(), NEVER_ABORTED), 'RANGE_NOT_SATISFIABLE')
    throwsWith(() => task.sendRange(10, 9, () => Promise.resolve(), NEVER_ABORTED), 'INVALID_ARGUMENT')
  },

  'refuses a piece of the wrong length and records nothing of it': async (store) => {
    const task = await store.create(testDescriptor('a'))
    for (const [number, length] of [[0, 999], [0, 1001], [4, 1000], [5, 500], [-1, 1000], [1.5, 1000]] as const) {
      await rejectsWith(writeWholePiece(task, number, [Buffer.alloc(length)]), 'INVALID_ARGUMENT')
    }
    assert.equal(task.finishedPieceCount, 0)
    assert.equal(task.piece(0), undefined)
    assert.equal(store.usedBytes(), 0)
    await writeTestPiece(task, testContent(CONTENT_BYTES), 0)
    assert.equal(task.finishedPieceCount, 1)
  },

  'treats writing a recorded piece again as a no-op': async (store) => {
    const content = testContent(CONTENT_BYTES)
    const other = testContent(CONTENT_BYTES, 1)
    const task = await store.create(testDescriptor('a'))
    await writeTestPiece(task, content, 1)
    await writeTestPiece(task, other, 1)
    assert.equal(task.openPiece(1), undefined)
    assert.equal(task.finishedPieceCount, 1)
    assert.equal(task.piece(1)?.digest, sha256Hex([content.subarray(1000, 2000)]))
    assert.deepEqual(await readRange(task, 1000, 1999), content.subarray(1000, 2000))
    assert.equal(store.usedBytes(), 1000)
  },

  'hashes a piece as it is written and makes it readable only once committed': async (store) => {
    const content = testContent(CONTENT_BYTES)
    const task = await store.create(testDescriptor('a'))
    const writer = task.openPiece(1)
    assert.ok(writer)
    for (let at = 1000; at < 2000; at += 300) await writer.write(content.subarray(at, Math.min(2000, at + 300)))
    assert.equal(writer.receivedBytes, 1000)
    assert.equal(await writer.end(), sha256Hex([content.subarray(1000, 2000)]))
    throwsWith(() => task.sendRange(1000, 1999, () => Promise.resolve(), NEVER_ABORTED), 'PIECE_NOT_FOUND')
    assert.equal(task.piece(1), undefined)
    assert.equal(store.usedBytes(), 0)
    await writer.commit()
    assert.equal(task.piece(1)?.digest, sha256Hex([content.subarray(1000, 2000)]))
    assert.deepEqual(await readRange(task, 1000, 1999), content.subarray(1000, 2000))
    throwsWith(() => writer.write(Buffer.alloc(1)), 'INVALID_ARGUMENT')
  },

  'wakes a caller waiting for the next piece once one is recorded, not when a writer gives up, and lists pieces in the order recorded': async (store) => {
    const content = testContent(CONTENT_BYTES)
    const task = await store.create(testDescriptor('a'))
    let woken = false
    const waiting = task.pieceRecorded(NEVER_ABORTED).then(() => {
      woken = true
    })
    const abandoned = task.openPiece(0)
    assert.ok(abandoned)
    await abandoned.write(content.subarray(0, 1000))
    abandoned.abort()
    await abandoned.settled
    await new Promise((resolve) => setImmediate(resolve))
    assert.equal(woken, false)
    await writeTestPiece(task, content, 1)
    await waiting
    await writeTestPiece(task, content, 4)
    assert.deepEqual(task.piecesRecordedSince(0), [1, 4], 'in the order recorded')
    assert.deepEqual(task.piecesRecordedSince(1), [4])
    assert.deepEqual(task.piecesRecordedSince(2), [])
    const stop = new AbortController()
    const stopped = task.pieceRecorded(stop.signal)
    stop.abort()
    await stopped
  },

  'never records a piece whose writer gave up, and lets the next writer replace its bytes': async (store) => {
    const content = testContent(CONTENT_BYTES)
    const forged = testContent(CONTENT_BYTES, 9)
    const task = await store.create(testDescriptor('a'))
    const first = task.openPiece(2)
    assert.ok(first)
    await first.write(forged.subarray(2000, 3000))
    await first.end()
    throwsWith(() => task.openPiece(2), 'INVALID_ARGUMENT')
    first.abort()
    first.abort()
    assert.equal(task.piece(2), undefined)
    throwsWith(() => task.sendRange(2000, 2999, () => Promise.resolve(), NEVER_ABORTED), 'PIECE_NOT_FOUND')
    await rejectsWith(first.commit(), 'INVALID_ARGUMENT')
    assert.equal(task.piece(2), undefined)
    await writeTestPiece(task, content, 2)
    assert.deepEqual(await readRange(task, 2000, 2999), content.subarray(2000, 3000))
  },

  'refuses bytes past the end of a piece as they arrive': async (store) => {
    const task = await store.create(testDescriptor('a'))
    const writer = task.openPiece(4)
    assert.ok(writer)
    await writer.write(Buffer.alloc(400))
    throwsWith(() => writer.write(Buffer.alloc(101)), 'INVALID_ARGUMENT')
    writer.abort()
    throwsWith(() => task.openPiece(5), 'INVALID_ARGUMENT')
    const unknown = await store.create(testDescriptor('b', { contentLengthBytes: undefined }))
    const open = unknown.openPiece(7)
    assert.ok(open)
    throwsWith(() => open.write(Buffer.alloc(1001)), 'INVALID_ARGUMENT')
    open.abort()
  },

  'lands the writes of a writer given up before those of the next writer of its piece': async (store) => {
    const pieceLengthBytes = 1024 * 1024
    const task = await store.create(testDescriptor('a', { contentLengthBytes: pieceLengthBytes, pieceLengthBytes }))
    const content = testContent(pieceLengthBytes, 3)
    const first = task.openPiece(0)
    assert.ok(first)
    // Enough for the first writer to start writing, and then it gives up without waiting.
    void first.write(testContent(pieceLengthBytes / 2, 5))
    first.abort()
    await writeWholePiece(task, 0, [content.subarray(0, 300_000), content.subarray(300_000)])
    assert.deepEqual(await readRange(task, 0, pieceLengthBytes - 1), content)
  },

  'finishes a task of unknown length and sets its length': async (store) => {
    const content = testContent(2300)
    const task = await store.create(testDescriptor('a', { contentLengthBytes: undefined }))
    for (const number of [0, 1, 2]) await writeTestPiece(task, content, number)
    await rejectsWith(writeWholePiece(task, 3, [Buffer.alloc(1000)]), 'INVALID_ARGUMENT')
    await rejectsWith(task.finish(), 'INVALID_ARGUMENT')
    await rejectsWith(task.finish({ contentLengthBytes: 3300 }), 'INVALID_ARGUMENT')
    assert.equal(task.complete, false)
    await task.finish({ contentLengthBytes: 2300 })
    assert.equal(task.complete, true)
    assert.equal(task.descriptor.contentLengthBytes, 2300)
    assert.deepEqual(await readRange(task, 0, 2299), content)
  },

  'refuses to finish before every piece is recorded': async (store) => {
    const content = testContent(CONTENT_BYTES)
    const task = await store.create(testDescriptor('a'))
    for (const number of [0, 1, 2, 4]) await writeTestPiece(task, content, number)
    await rejectsWith(task.finish(), 'INVALID_ARGUMENT')
    await rejectsWith(task.recordVerifiedDigest(`sha256:${'0'.repeat(64)}`), 'INVALID_ARGUMENT')
    assert.equal(task.complete, false)
    await writeTestPiece(task, content, 3)
    await rejectsWith(task.finish({ contentLengthBytes: 4400 }), 'INVALID_ARGUMENT')
    await rejectsWith(task.finish({ verifiedDigest: 'md5:abc' }), 'INVALID_ARGUMENT')
    const digest = `sha256:${sha256Hex([content])}`
    await task.finish({ verifiedDigest: digest.toUpperCase().replace('SHA256', 'sha256') })
    assert.equal(task.complete, true)
    assert.equal(task.verifiedDigest, digest)
    await task.finish()
    assert.equal(task.verifiedDigest, digest)
    await task.recordVerifiedDigest(`sha512:${'ab'.repeat(64)}`)
    assert.equal(task.verifiedDigest, `sha512:${'ab'.repeat(64)}`)
    assert.equal(store.list()[0]?.complete, true)
  },

  'finishes an empty task at once': async (store) => {
    const task = await store.create(testDescriptor('a', { contentLengthBytes: 0 }))
    await task.finish()
    assert.equal(task.complete, true)
    assert.equal(task.finishedPieceCount, 0)
  },

  'reports content intact from creation through completion, and not after deletion': async (store) => {
    const content = testContent(CONTENT_BYTES)
    const task = await store.create(testDescriptor('a'))
    assert.equal(await task.contentIntact(), true, 'nothing is sealed before completion')
    for (const number of [4, 0, 1]) await writeTestPiece(task, content, number)
    assert.equal(await task.contentIntact(), true, 'nothing is sealed before completion')
    for (const number of [2, 3]) await writeTestPiece(task, content, number)
    await task.finish()
    assert.equal(await task.contentIntact(), true)
    await task.finish()
    await task.recordVerifiedDigest(`sha256:${sha256Hex([content])}`)
    assert.equal(await task.contentIntact(), true, 'finishing again and recording a digest keep the seal')
    const empty = await completeTask(store, 'empty', Buffer.alloc(0))
    assert.equal(await empty.contentIntact(), true)
    assert.equal(await store.delete(testTaskId('a')), true)
    assert.equal(await task.contentIntact(), false)
  },

  'deletes a task only once it is released, unless forced': async (store) => {
    const content = testContent(CONTENT_BYTES)
    const a = await completeTask(store, 'a', content)
    const b = await completeTask(store, 'b', content)
    const releaseA = a.acquire()
    const releaseAAgain = a.acquire()
    assert.equal(store.list().find((task) => task.descriptor.taskId === testTaskId('a'))?.inUse, true)
    assert.equal(await store.delete(testTaskId('a')), false)
    releaseA()
    releaseA()
    assert.equal(await store.delete(testTaskId('a')), false, 'a second holder remains')
    releaseAAgain()
    assert.equal(await store.delete(testTaskId('a')), true)
    assert.equal(store.get(testTaskId('a')), undefined)
    b.acquire()
    assert.equal(await store.delete(testTaskId('b'), { force: true }), true)
    assert.deepEqual(store.list(), [])
    assert.equal(await store.delete(testTaskId('never')), true)
    await rejectsWith(writeTestPiece(b, content, 0), 'TASK_NOT_FOUND')
  },

  'sums the stored bytes of every task': async (store) => {
    const content = testContent(CONTENT_BYTES)
    await completeTask(store, 'a', content)
    const b = await store.create(testDescriptor('b'))
    await writeTestPiece(b, content, 4)
    await writeTestPiece(b, content, 0)
    assert.equal(store.usedBytes(), CONTENT_BYTES + 1500)
    assert.equal(store.list().find((task) => task.descriptor.taskId === testTaskId('b'))?.storedBytes, 1500)
    await store.delete(testTaskId('a'))
    assert.equal(store.usedBytes(), 1500)
  },
}

/** For stores that persist: what survives a restart. */
const RESTART_CASES: Record<string, RestartCase> = {
  'keeps pieces and completion across a restart': async (store, reopen) => {
    const content = testContent(CONTENT_BYTES)
    const complete = await completeTask(store, 'complete', content)
    const digest = `sha256:${sha256Hex([content])}`
    await complete.recordVerifiedDigest(digest)
    const partial = await store.create(testDescriptor('partial', { contentLengthBytes: undefined }))
    for (const number of [2, 0]) await writeTestPiece(partial, content, number)
    await rejectsWith(writeWholePiece(partial, 1, [Buffer.alloc(1001)]), 'INVALID_ARGUMENT')
    // Written but never committed: after the restart the piece is still missing.
    const unfinished = partial.openPiece(1)
    assert.ok(unfinished)
    await unfinished.write(content.subarray(1000, 2000))
    await unfinished.end()

    const reopened = await reopen()
    const loadedComplete = reopened.get(testTaskId('complete'))
    assert.ok(loadedComplete)
    assert.deepEqual(loadedComplete.descriptor, complete.descriptor)
    assert.equal(loadedComplete.complete, true)
    assert.equal(loadedComplete.verifiedDigest, digest)
    assert.equal(await loadedComplete.contentIntact(), true)
    assert.deepEqual(await readRange(loadedComplete, 0, CONTENT_BYTES - 1), content)
    const loadedPartial = reopened.get(testTaskId('partial'))
    assert.ok(loadedPartial)
    assert.equal(loadedPartial.complete, false)
    assert.equal(loadedPartial.descriptor.contentLengthBytes, undefined)
    assert.deepEqual([...loadedPartial.pieces()].map((piece) => piece.number).sort(), [0, 2])
    assert.deepEqual(loadedPartial.piece(2), partial.piece(2))
    assert.deepEqual(await readRange(loadedPartial, 2000, 2999), content.subarray(2000, 3000))
    assert.equal(reopened.usedBytes(), CONTENT_BYTES + 2000)

    for (const number of [1, 3, 4]) await writeTestPiece(loadedPartial, content, number)
    await loadedPartial.finish({ contentLengthBytes: CONTENT_BYTES })
    const finished = (await reopen()).get(testTaskId('partial'))
    assert.ok(finished)
    assert.equal(finished.complete, true)
    assert.equal(await finished.contentIntact(), true)
    assert.deepEqual(await readRange(finished, 0, CONTENT_BYTES - 1), content)
  },

  'forgets a deleted task across a restart': async (store, reopen) => {
    const content = testContent(CONTENT_BYTES)
    await completeTask(store, 'deleted', content)
    const partial = await store.create(testDescriptor('deleted-partial'))
    await writeTestPiece(partial, content, 1)
    await completeTask(store, 'kept', content)
    assert.equal(await store.delete(testTaskId('deleted')), true)
    assert.equal(await store.delete(testTaskId('deleted-partial')), true)
    const reopened = await reopen()
    assert.deepEqual(reopened.list().map((task) => task.descriptor.taskId), [testTaskId('kept')])
    assert.equal(reopened.usedBytes(), CONTENT_BYTES)
  },
}

/** The behaviour every {@link ContentStore} promises; run it once per implementation. */
export function contentStoreContract(name: string, open: () => Promise<ContentStoreHarness>): void {
  const run = (test: (harness: ContentStoreHarness, t: TestContext) => Promise<void>) => async (t: TestContext) => {
    const harness = await open()
    try {
      await test(harness, t)
    } finally {
      await harness.cleanup()
    }
  }
  describe(`ContentStore: ${name}`, () => {
    for (const [title, test] of Object.entries(CASES)) {
      it(title, TIMEOUT, run(({ store }) => test(store)))
    }
    for (const [title, test] of Object.entries(RESTART_CASES)) {
      it(title, TIMEOUT, run(async ({ store, reopen }, t) => {
        if (reopen === undefined) t.skip('this store keeps nothing across a restart')
        else await test(store, reopen)
      }))
    }
  })
}
