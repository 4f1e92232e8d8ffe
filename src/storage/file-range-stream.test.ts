import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { FileRangeStream } from './file-range-stream.js'
import { ReadBudget } from './read-budget.js'

const KiB = 1024
const CONTENT = randomBytes(300 * KiB + 7)

/** A budget that records the chunk size of every read and how many streams are open. */
class WatchedBudget extends ReadBudget {
  streamsOpen = 0
  readonly chunks: number[] = []

  override open(): () => void {
    this.streamsOpen++
    const close = super.open()
    let closed = false
    return () => {
      if (!closed) this.streamsOpen--
      closed = true
      close()
    }
  }

  override chunkBytes(): number {
    const bytes = super.chunkBytes()
    this.chunks.push(bytes)
    return bytes
  }
}

describe('FileRangeStream', { timeout: 5_000 }, () => {
  let dir = ''
  let path = ''

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'damselfly-range-'))
    path = join(dir, 'content')
    await writeFile(path, CONTENT)
  })

  after(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  async function readAll(stream: FileRangeStream): Promise<Buffer[]> {
    const chunks: Buffer[] = []
    for await (const chunk of stream as AsyncIterable<Buffer>) chunks.push(chunk)
    return chunks
  }

  const ranges: ReadonlyArray<readonly [number, number]> = [[0, CONTENT.length - 1], [1, 1], [64 * KiB - 1, 200 * KiB], [CONTENT.length - 1, CONTENT.length - 1]]
  for (const [start, endInclusive] of ranges) {
    it(`reads bytes ${start}-${endInclusive} in chunks the budget sizes, and closes its file at the end`, async () => {
      const budget = new WatchedBudget({ budgetBytes: 64 * KiB, minChunkBytes: 16 * KiB, maxChunkBytes: 64 * KiB })
      const chunks = await readAll(new FileRangeStream({ budget }, { path, start, endInclusive }))
      assert.ok(Buffer.concat(chunks).equals(CONTENT.subarray(start, endInclusive + 1)))
      assert.ok(chunks.every((chunk) => chunk.length <= 64 * KiB), 'no chunk is larger than the budget gave')
      assert.equal(budget.streamsOpen, 0)
    })
  }

  it('reads smaller chunks while other streams are open', async () => {
    const budget = new WatchedBudget({ budgetBytes: 64 * KiB, minChunkBytes: 4 * KiB, maxChunkBytes: 64 * KiB })
    const others = [budget.open(), budget.open(), budget.open()]
    const chunks = await readAll(new FileRangeStream({ budget }, { path, start: 0, endInclusive: 100 * KiB - 1 }))
    assert.deepEqual(chunks.map((chunk) => chunk.length), [16 * KiB, 16 * KiB, 16 * KiB, 16 * KiB, 16 * KiB, 16 * KiB, 4 * KiB])
    for (const close of others) close()
  })

  it('ends early when the file is shorter than the range, as fs.createReadStream does', async () => {
    const chunks = await readAll(new FileRangeStream({ budget: new ReadBudget() }, { path, start: CONTENT.length - 10, endInclusive: CONTENT.length + 1000 }))
    assert.ok(Buffer.concat(chunks).equals(CONTENT.subarray(CONTENT.length - 10)))
  })

  it('gives its share back when the reader stops early', async () => {
    const budget = new WatchedBudget()
    const stream = new FileRangeStream({ budget }, { path, start: 0, endInclusive: CONTENT.length - 1 })
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      assert.ok(chunk.length > 0)
      break
    }
    assert.equal(stream.destroyed, true)
    assert.equal(budget.streamsOpen, 0)
  })

  it('fails with the file system\'s error for a missing file', async () => {
    await assert.rejects(readAll(new FileRangeStream({ budget: new ReadBudget() }, { path: join(dir, 'missing'), start: 0, endInclusive: 10 })), { code: 'ENOENT' })
  })
})
