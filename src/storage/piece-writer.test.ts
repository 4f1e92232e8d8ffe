import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { describe, it } from 'node:test'
import { BatchBuffers } from './batch-buffers.js'
import { PieceWriter, type PieceWriteTarget } from './piece-writer.js'

const TIMEOUT = { timeout: 5_000 }
const BATCH_BYTES = 64 * 1024

/** A target that keeps what lands, and can hold writes back until released. */
class FakeTarget implements PieceWriteTarget {
  readonly file = Buffer.alloc(4 * 1024 * 1024)
  committed: { length: number; digest: string } | undefined
  held: Array<() => void> | undefined

  async writeAt(offset: number, chunks: readonly Buffer[]): Promise<void> {
    if (this.held !== undefined) await new Promise<void>((resolve) => this.held?.push(resolve))
    let at = offset
    for (const chunk of chunks) at += chunk.copy(this.file, at)
  }

  commit(length: number, digest: string): Promise<void> {
    this.committed = { length, digest }
    return Promise.resolve()
  }

  release(): void {}
}

describe('PieceWriter', () => {
  it('copies what it is handed: the caller may reuse its buffer at once', TIMEOUT, async () => {
    const target = new FakeTarget()
    const content = randomBytes(300 * 1024)
    const writer = new PieceWriter(target, new BatchBuffers({ batchBytes: BATCH_BYTES, maxSpareCount: 4 }), 0, 4096, content.length, Promise.resolve())
    const reused = Buffer.alloc(10_000)
    for (let at = 0; at < content.length; at += reused.length) {
      const length = content.copy(reused, 0, at, at + reused.length)
      await writer.write(reused.subarray(0, length))
      // What the socket would do to its read buffer next.
      reused.fill(0xff)
    }
    const digest = await writer.end()
    await writer.commit()
    assert.equal(digest, createHash('sha256').update(content).digest('hex'))
    assert.deepEqual(target.file.subarray(4096, 4096 + content.length), content)
    assert.deepEqual(target.committed, { length: content.length, digest })
  })

  it('reuses the batches of earlier pieces: a steady download allocates none', TIMEOUT, async () => {
    const target = new FakeTarget()
    const buffers = new BatchBuffers({ batchBytes: BATCH_BYTES, maxSpareCount: 8 })
    for (let number = 0; number < 8; number++) {
      const writer = new PieceWriter(target, buffers, number, number * 256 * 1024, 256 * 1024, Promise.resolve())
      for (let i = 0; i < 16; i++) await writer.write(randomBytes(16 * 1024))
      await writer.end()
      await writer.commit()
    }
    assert.ok(buffers.allocatedCount <= 3, `allocated ${buffers.allocatedCount} batches for 8 pieces`)
  })

  it('asks the caller to wait while two batches are being written', TIMEOUT, async () => {
    const target = new FakeTarget()
    target.held = []
    const writer = new PieceWriter(target, new BatchBuffers({ batchBytes: BATCH_BYTES, maxSpareCount: 4 }), 0, 0, 1024 * 1024, Promise.resolve())
    assert.equal(writer.write(Buffer.alloc(BATCH_BYTES)), undefined, 'one batch in flight: go on')
    const wait = writer.write(Buffer.alloc(BATCH_BYTES))
    assert.ok(wait instanceof Promise, 'two batches in flight: wait')
    let landed = false
    void wait.then(() => {
      landed = true
    })
    await new Promise((resolve) => setImmediate(resolve))
    assert.equal(landed, false)
    for (let waited = 0; target.held.length === 0 && waited < 100; waited++) await new Promise((resolve) => setImmediate(resolve))
    target.held.shift()?.()
    await wait
    for (const release of target.held.splice(0)) release()
    target.held = undefined
    writer.abort()
  })

  it('refuses bytes past the piece\'s length and records nothing', TIMEOUT, () => {
    const target = new FakeTarget()
    const writer = new PieceWriter(target, new BatchBuffers({ batchBytes: BATCH_BYTES, maxSpareCount: 4 }), 3, 0, 100, Promise.resolve())
    assert.throws(() => writer.write(Buffer.alloc(101)), /piece 3 holds at most 100 bytes/)
    writer.abort()
    assert.equal(target.committed, undefined)
  })
})
