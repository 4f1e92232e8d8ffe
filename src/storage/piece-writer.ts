import { createHash } from 'node:crypto'
import { DamselflyError } from '../protocol/damselfly-error.js'
import type { BatchBuffers } from './batch-buffers.js'

/** Batches written at once: one lands while the next fills. */
const BATCHES_IN_FLIGHT = 2

/** Where a piece writer puts its bytes; the task record supplies it. */
export interface PieceWriteTarget {
  /** Writes `chunks` at `offset`, within the piece being written; never readable until the piece is recorded. */
  writeAt(offset: number, chunks: readonly Buffer[]): Promise<void>
  /** Records the piece as stored: `length` bytes whose sha256 is `digest`, all written. */
  commit(length: number, digest: string): Promise<void>
  /** The writer is done, committed or not: the piece may be opened again. */
  release(writer: PieceWriter): void
}

/**
 * Writes one piece as its bytes arrive, from a parent or the origin: each chunk is hashed at once
 * and written at its offset in batches, so a piece is never held whole in memory. Nothing of it is
 * readable until {@link PieceWriter.commit} records it, which the caller does only once the digest
 * from {@link PieceWriter.end} is the one it expects; otherwise it calls {@link PieceWriter.abort}
 * and the bytes are never read. A task has one writer per piece at a time, and the writes of one
 * that gave up land before the next writer of that piece writes.
 *
 * Usage: `await writer.write(chunk)` when it returns a promise (a batch is being written), then
 * `const digest = await writer.end()`, then `commit()` or `abort()`.
 */
export class PieceWriter {
  private readonly hash = createHash('sha256')
  private takenBytes = 0
  /** The batch being filled, and the bytes in it. */
  private batch: Buffer | undefined
  private batchBytes = 0
  /** Bytes handed to writes so far, so the next batch knows its offset. */
  private queuedBytes = 0
  /** Each batch's write, oldest first, until it lands. */
  private readonly landing: Array<Promise<void>> = []
  private writes: Promise<void>
  private state: 'open' | 'ended' | 'done' = 'open'
  private digest = ''

  constructor(
    private readonly target: PieceWriteTarget,
    /** Where batches come from and go back to once written. */
    private readonly batches: BatchBuffers,
    readonly number: number,
    readonly offset: number,
    /** The most bytes the piece may hold (its exact length when the content's length is known). */
    readonly maxLengthBytes: number,
    /** Writes of an earlier writer of this piece, which must land before this one's. */
    previousWrites: Promise<void>,
  ) {
    // A failed write of an earlier writer is that writer's failure, not this one's.
    this.writes = previousWrites.catch(() => undefined)
  }

  /** Bytes taken so far. */
  get receivedBytes(): number {
    return this.takenBytes
  }

  /** Settles once every write so far has landed; rejects with the first failure. */
  get settled(): Promise<void> {
    return this.writes
  }

  /**
   * Takes the next bytes of the piece: hashes them and copies them into the batch being filled,
   * so the caller may reuse `chunk` at once (a socket's read buffer). Returns a promise when the
   * caller should wait before handing over more (batches are being written), else undefined; it
   * rejects if a write failed. Throws INVALID_ARGUMENT past the piece's length.
   */
  write(chunk: Buffer): Promise<void> | undefined {
    this.expect('open')
    if (this.takenBytes + chunk.length > this.maxLengthBytes) {
      throw new DamselflyError('INVALID_ARGUMENT', `piece ${this.number} holds at most ${this.maxLengthBytes} bytes, got ${this.takenBytes + chunk.length}`)
    }
    if (chunk.length === 0) return undefined
    this.hash.update(chunk)
    this.takenBytes += chunk.length
    for (let copied = 0; copied < chunk.length;) {
      this.batch ??= this.batches.take()
      const bytes = chunk.copy(this.batch, this.batchBytes, copied)
      this.batchBytes += bytes
      copied += bytes
      if (this.batchBytes === this.batch.length) this.flush()
    }
    return this.landing.length >= BATCHES_IN_FLIGHT ? this.landing[0] : undefined
  }

  /** Every byte is in: writes what is left and resolves with the piece's sha256 (lowercase hex) once all is written. */
  async end(): Promise<string> {
    if (this.state === 'open') {
      this.state = 'ended'
      if (this.batchBytes > 0) this.flush()
      this.digest = this.hash.digest('hex')
    }
    this.expect('ended')
    await this.writes
    return this.digest
  }

  /** Records the piece under the digest {@link PieceWriter.end} returned: from now on it is readable. */
  async commit(): Promise<void> {
    const digest = await this.end()
    this.state = 'done'
    try {
      await this.target.commit(this.takenBytes, digest)
    } finally {
      this.target.release(this)
    }
  }

  /** Gives the piece up: nothing is recorded, and the next writer of it waits for this one's writes. Safe to repeat. */
  abort(): void {
    if (this.state === 'done') return
    this.state = 'done'
    if (this.batch !== undefined) this.batches.give(this.batch)
    this.batch = undefined
    this.batchBytes = 0
    this.target.release(this)
  }

  private flush(): void {
    const batch = this.batch
    if (batch === undefined) return
    const bytes = batch.subarray(0, this.batchBytes)
    const at = this.offset + this.queuedBytes
    this.queuedBytes += this.batchBytes
    this.batch = undefined
    this.batchBytes = 0
    const landed = this.writes.then(() => this.target.writeAt(at, [bytes]))
    this.writes = landed
    this.landing.push(landed)
    // Whoever waits sees a failure; a writer given up meanwhile must not turn it into an unhandled rejection.
    landed.then(() => {
      void this.landing.shift()
      this.batches.give(batch)
    }, () => {
      void this.landing.shift()
    })
  }

  private expect(state: 'open' | 'ended'): void {
    if (this.state !== state) throw new DamselflyError('INVALID_ARGUMENT', `piece ${this.number}'s writer is ${this.state}, not ${state}`)
  }
}

/**
 * Writes a piece held in memory (a tiny task's content, a test's bytes) and records it; resolves
 * with its sha256. A no-op resolving undefined when the piece is already recorded.
 */
export async function writeWholePiece(task: { openPiece(number: number): PieceWriter | undefined }, number: number, chunks: readonly Buffer[]): Promise<string | undefined> {
  const writer = task.openPiece(number)
  if (writer === undefined) return undefined
  try {
    for (const chunk of chunks) await writer.write(chunk)
    const digest = await writer.end()
    await writer.commit()
    return digest
  } catch (error) {
    writer.abort()
    throw error
  }
}
