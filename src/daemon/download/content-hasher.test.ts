import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { describe, it } from 'node:test'
import { systemClock } from '../../common/clock.js'
import { silentLogger } from '../../common/logger.js'
import type { StoredTask } from '../../storage/content-store.js'
import { testDescriptor } from '../../storage/content-store.contract.js'
import { MemoryContentStore } from '../../storage/memory-content-store.js'
import { writeWholePiece } from '../../storage/piece-writer.js'
import { ContentHasher } from './content-hasher.js'
import { PieceSignals } from './piece-signals.js'

const TEST = { timeout: 10_000 }
const PIECE_BYTES = 1024

function sha256(bytes: Buffer): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`
}

function content(length: number): Buffer {
  return Buffer.from(Array.from({ length }, (_, index) => (index * 13 + (index >> 10)) & 0xff))
}

/** A task of `length` bytes (unknown to the store when `announced` is false), and a log of every byte range read from it. */
async function taskOf(length: number, announced = true): Promise<{ task: StoredTask; reads: Array<[number, number]> }> {
  const store = new MemoryContentStore({ logger: silentLogger(), clock: systemClock })
  const task = await store.create(testDescriptor('hashed', { contentLengthBytes: announced ? length : undefined, pieceLengthBytes: PIECE_BYTES }))
  const reads: Array<[number, number]> = []
  const send = task.sendRange.bind(task)
  task.sendRange = (start, endInclusive, sink, signal) => {
    reads.push([start, endInclusive])
    return send(start, endInclusive, sink, signal)
  }
  return { task, reads }
}

async function store(task: StoredTask, signals: PieceSignals, bytes: Buffer, number: number): Promise<void> {
  await writeWholePiece(task, number, [bytes.subarray(number * PIECE_BYTES, (number + 1) * PIECE_BYTES)])
  signals.ready(number)
}

/** Lets the hasher's reads run: a few turns of the event loop. */
async function settle(): Promise<void> {
  for (let turn = 0; turn < 20; turn++) await new Promise((resolve) => setImmediate(resolve))
}

function bytesRead(reads: ReadonlyArray<[number, number]>): number {
  return reads.reduce((total, [start, end]) => total + end - start + 1, 0)
}

describe('ContentHasher', TEST, () => {
  it('hashes each piece once, as soon as every piece before it is stored, and gives the content digest', TEST, async () => {
    const bytes = content(4000)
    const { task, reads } = await taskOf(bytes.length)
    const signals = new PieceSignals()
    const hasher = new ContentHasher({ signals }, { task, expected: sha256(bytes), signal: AbortSignal.timeout(5_000) })
    await store(task, signals, bytes, 2)
    await store(task, signals, bytes, 1)
    await settle()
    assert.deepEqual(reads, [], 'nothing is hashed before the first piece is stored')
    await store(task, signals, bytes, 0)
    await settle()
    assert.deepEqual(reads, [[0, 1023], [1024, 2047], [2048, 3071]], 'the stored prefix is hashed before the last piece lands')
    await store(task, signals, bytes, 3)
    assert.equal(await hasher.digest(bytes.length), sha256(bytes))
    assert.equal(bytesRead(reads), bytes.length, 'every byte is read once')
  })

  it('gives the digest of what is stored when it is not the expected one', TEST, async () => {
    const bytes = content(2500)
    const { task } = await taskOf(bytes.length)
    const signals = new PieceSignals()
    const hasher = new ContentHasher({ signals }, { task, expected: sha256(Buffer.from('something else')), signal: AbortSignal.timeout(5_000) })
    for (const number of [0, 1, 2]) await store(task, signals, bytes, number)
    assert.equal(await hasher.digest(bytes.length), sha256(bytes))
  })

  it('follows content of unknown length and takes its length at the end', TEST, async () => {
    const bytes = content(2 * PIECE_BYTES + 500)
    const { task, reads } = await taskOf(bytes.length, false)
    const signals = new PieceSignals()
    const hasher = new ContentHasher({ signals }, { task, expected: sha256(bytes), signal: AbortSignal.timeout(5_000) })
    for (const number of [0, 1, 2]) await store(task, signals, bytes, number)
    assert.equal(await hasher.digest(bytes.length), sha256(bytes))
    assert.equal(bytesRead(reads), bytes.length)
  })

  it('reads the whole content again when following it failed, and still gives its digest', TEST, async () => {
    const bytes = content(3000)
    const { task, reads } = await taskOf(bytes.length)
    const send = task.sendRange.bind(task)
    let failures = 1
    task.sendRange = (start, endInclusive, sink, signal) => {
      if (failures-- > 0) return Promise.reject(new Error('the disk refused once'))
      return send(start, endInclusive, sink, signal)
    }
    const signals = new PieceSignals()
    const hasher = new ContentHasher({ signals }, { task, expected: sha256(bytes), signal: AbortSignal.timeout(5_000) })
    for (const number of [0, 1, 2]) await store(task, signals, bytes, number)
    await settle()
    assert.equal(await hasher.digest(bytes.length), sha256(bytes))
    assert.deepEqual(reads.at(-1), [0, bytes.length - 1], 'the fallback reads it all')
  })

  it('reads nothing more once stopped', TEST, async () => {
    const bytes = content(3000)
    const { task, reads } = await taskOf(bytes.length)
    const signals = new PieceSignals()
    const hasher = new ContentHasher({ signals }, { task, expected: sha256(bytes), signal: AbortSignal.timeout(5_000) })
    await store(task, signals, bytes, 0)
    await settle()
    hasher.stop()
    await store(task, signals, bytes, 1)
    await settle()
    assert.deepEqual(reads, [[0, 1023]])
  })
})
