import { open, type FileHandle } from 'node:fs/promises'
import { Readable } from 'node:stream'
import type { ReadBudget } from './read-budget.js'

/**
 * Bytes `[start, endInclusive]` of a file, read in chunks the budget sizes at each read, with no
 * read-ahead beyond the chunk being read: what a slow client holds in memory shrinks as more
 * clients read. Like `fs.createReadStream`, it ends early if the file is shorter; errors are the
 * file system's.
 */
export class FileRangeStream extends Readable {
  private handle: FileHandle | undefined
  private position: number
  private release: (() => void) | undefined

  constructor(
    private readonly components: { budget: ReadBudget },
    private readonly init: {
      path: string
      start: number
      endInclusive: number
      /** Destroys the stream, closing the file, once it aborts. */
      signal?: AbortSignal
    },
  ) {
    // A chunk is read only when the consumer asks for one.
    super({ highWaterMark: 0, ...(init.signal === undefined ? {} : { signal: init.signal }) })
    this.position = init.start
  }

  override _read(): void {
    this.readChunk().then((chunk) => {
      this.push(chunk)
    }, (error: unknown) => {
      this.destroy(error as Error)
    })
  }

  /** The next chunk, or null at the end of the range or of the file. */
  private async readChunk(): Promise<Buffer | null> {
    const remainingBytes = this.init.endInclusive - this.position + 1
    if (remainingBytes <= 0) return null
    if (this.handle === undefined) {
      const handle = await open(this.init.path, 'r')
      if (this.destroyed) {
        await handle.close()
        return null
      }
      this.handle = handle
      this.release = this.components.budget.open()
    }
    const buffer = Buffer.allocUnsafe(Math.min(remainingBytes, this.components.budget.chunkBytes()))
    const { bytesRead } = await this.handle.read(buffer, 0, buffer.length, this.position)
    if (bytesRead === 0) return null
    this.position += bytesRead
    return bytesRead === buffer.length ? buffer : buffer.subarray(0, bytesRead)
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.release?.()
    const handle = this.handle
    this.handle = undefined
    if (handle === undefined) {
      callback(error)
      return
    }
    handle.close().then(() => {
      callback(error)
    }, (closeError: unknown) => {
      callback(error ?? (closeError as Error))
    })
  }
}
