import type { Clock } from '../common/clock.js'
import { DamselflyError } from '../protocol/damselfly-error.js'
import type { ErrorCode } from '../protocol/error-codes.js'
import { formatDigest, parseDigest } from '../protocol/digest.js'
import { isTaskId } from '../protocol/ids.js'
import { pieceCount, pieceRange, piecesCovering } from '../protocol/piece.js'
import type { PieceRecord, StoredTask, TaskDescriptor, TaskSummary } from './content-store.js'
import type { BatchBuffers } from './batch-buffers.js'
import type { RangeSink } from './send-file-range.js'
import { PieceWriter, type PieceWriteTarget } from './piece-writer.js'

/**
 * What a content file held when its task finished, to tell later whether someone changed it (a
 * hard link handed to a user shares the file). `mtimeMs` is the file system's modification time.
 */
export interface ContentSeal {
  readonly sizeBytes: number
  readonly mtimeMs: number
}

/** What a store persists about a task; pieces are listed in the order they were recorded. */
export interface TaskSnapshot {
  readonly descriptor: TaskDescriptor
  readonly complete: boolean
  readonly verifiedDigest: string | undefined
  readonly pieces: readonly PieceRecord[]
  /** Recorded once by `finish`; undefined before, for stores without files, and in older metadata. */
  readonly contentSeal: ContentSeal | undefined
}

/**
 * Where a {@link TaskRecord} keeps its bytes and metadata; one implementation per store. The
 * record validates every call first, so a backend only stores.
 */
export interface TaskBackend {
  readonly contentPath: string | undefined
  /** Stores bytes of piece `pieceNumber`, not recorded yet, at `offset` within it; they are read only once the piece is recorded. */
  writeAt(pieceNumber: number, offset: number, chunks: readonly Uint8Array[]): Promise<void>
  /** Records a piece whose bytes are written; resolves once the record is durable. */
  recordPiece(piece: PieceRecord): Promise<void>
  /** Replaces the stored metadata with `snapshot`; the record applies it only once this resolves. */
  saveMetadata(snapshot: TaskSnapshot): Promise<void>
  /** Sends bytes `[start, endInclusive]`, all within recorded pieces, to `sink` (see {@link StoredTask.sendRange}). */
  send(start: number, endInclusive: number, sink: RangeSink, signal: AbortSignal): Promise<void>
  /**
   * Every piece is recorded: ends writing to the content and protects it, and returns what it
   * holds now. Undefined when there is no file to seal (content of 0 bytes may have none).
   */
  seal(contentLengthBytes: number): Promise<ContentSeal | undefined>
  /** Whether the content of a complete task still is what `seal` recorded (undefined: only its length is known). */
  contentIntact(seal: ContentSeal | undefined, contentLengthBytes: number): Promise<boolean>
  /** The last holder released the task. */
  idle(): void
  /** An access was recorded at `nowMs`. */
  touched(nowMs: number): void
}


type RecordState = 'open' | 'removed' | 'closed'

/** Validates a descriptor handed to `create`; throws INVALID_ARGUMENT naming the field. */
export function checkDescriptor(descriptor: TaskDescriptor): void {
  const { taskId, pieceLengthBytes, contentLengthBytes } = descriptor
  if (!isTaskId(taskId)) {
    throw new DamselflyError('INVALID_ARGUMENT', `task id must be 64 lowercase hex digits, got ${JSON.stringify(taskId)}`)
  }
  if (!Number.isSafeInteger(pieceLengthBytes) || pieceLengthBytes <= 0) {
    throw new DamselflyError('INVALID_ARGUMENT', `piece length must be a positive integer, got ${pieceLengthBytes}`, { details: { taskId } })
  }
  if (contentLengthBytes !== undefined && (!Number.isSafeInteger(contentLengthBytes) || contentLengthBytes < 0)) {
    throw new DamselflyError('INVALID_ARGUMENT', `content length must be a non-negative integer, got ${contentLengthBytes}`, { details: { taskId } })
  }
}

/**
 * The state and rules of one stored task, shared by every store: which pieces may be written,
 * when a task may finish, which ranges may be read. Storing is left to a {@link TaskBackend}.
 */
export class TaskRecord implements StoredTask {
  private currentDescriptor: TaskDescriptor
  private isComplete: boolean
  private currentVerifiedDigest: string | undefined
  private currentSeal: ContentSeal | undefined
  private readonly records = new Map<number, PieceRecord>()
  /** Piece numbers in the order they were recorded. */
  private readonly recordOrder: number[] = []
  private recordedBytes = 0
  private highestPieceNumber = -1
  /** For content of unknown length: the number of the one piece shorter than the piece length. */
  private shortPieceNumber: number | undefined
  private holders = 0
  private accessMs: number
  /** The writer of each piece being written: one at a time. */
  private readonly writers = new Map<number, PieceWriter>()
  /** The writes of each piece's last writer that gave up, which the next writer waits for. */
  private readonly abandoned = new Map<number, Promise<void>>()
  /** Every write under way, for `retire`. */
  private readonly inFlight = new Set<Promise<unknown>>()
  private state: RecordState = 'open'
  /** Callers of `pieceRecorded` waiting for the next piece. */
  private readonly recordWaiters = new Set<() => void>()

  constructor(
    private readonly components: { backend: TaskBackend; clock: Clock; batches: BatchBuffers },
    init: {
      descriptor: TaskDescriptor
      complete: boolean
      verifiedDigest: string | undefined
      contentSeal: ContentSeal | undefined
      pieces: Iterable<PieceRecord>
      lastAccessMs: number
    },
  ) {
    this.currentDescriptor = init.descriptor
    this.isComplete = init.complete
    this.currentVerifiedDigest = init.verifiedDigest
    this.currentSeal = init.contentSeal
    this.accessMs = init.lastAccessMs
    for (const piece of init.pieces) this.record(piece)
  }

  get descriptor(): TaskDescriptor {
    return this.currentDescriptor
  }

  get taskId(): TaskDescriptor['taskId'] {
    return this.currentDescriptor.taskId
  }

  get complete(): boolean {
    return this.isComplete
  }

  get verifiedDigest(): string | undefined {
    return this.currentVerifiedDigest
  }

  get finishedPieceCount(): number {
    return this.records.size
  }

  get storedBytes(): number {
    return this.recordedBytes
  }

  get lastAccessMs(): number {
    return this.accessMs
  }

  get inUse(): boolean {
    return this.holders > 0
  }

  get contentPath(): string | undefined {
    return this.components.backend.contentPath
  }

  summary(): TaskSummary {
    return {
      descriptor: this.currentDescriptor,
      complete: this.isComplete,
      finishedPieceCount: this.records.size,
      storedBytes: this.recordedBytes,
      lastAccessMs: this.accessMs,
      inUse: this.holders > 0,
    }
  }

  snapshot(): TaskSnapshot {
    return {
      descriptor: this.currentDescriptor,
      complete: this.isComplete,
      verifiedDigest: this.currentVerifiedDigest,
      pieces: [...this.records.values()],
      contentSeal: this.currentSeal,
    }
  }

  piece(number: number): PieceRecord | undefined {
    return this.records.get(number)
  }

  piecesRecordedSince(count: number): number[] {
    return this.recordOrder.slice(count)
  }

  pieceRecorded(signal: AbortSignal): Promise<void> {
    if (signal.aborted) return Promise.resolve()
    return new Promise((resolve) => {
      const wake = (): void => {
        this.recordWaiters.delete(wake)
        signal.removeEventListener('abort', wake)
        resolve()
      }
      this.recordWaiters.add(wake)
      signal.addEventListener('abort', wake, { once: true })
    })
  }

  pieces(): IterableIterator<PieceRecord> {
    return this.records.values()
  }

  openPiece(number: number): PieceWriter | undefined {
    this.assertOpen()
    if (this.records.has(number)) return undefined
    if (this.writers.has(number)) throw this.error('INVALID_ARGUMENT', `piece ${number} is being written already`)
    const { offset, maxLength } = this.pieceBounds(number)
    const target: PieceWriteTarget = {
      writeAt: (at, chunks) => {
        this.assertOpen()
        return this.track(this.components.backend.writeAt(number, at, chunks))
      },
      commit: async (length, digest) => {
        this.assertOpen()
        const piece: PieceRecord = { number, offset: this.expectPiece(number, length), length, digest }
        await this.track(this.components.backend.recordPiece(piece))
        // Recorded even if the store closed meanwhile: the bytes and the journal line are on disk.
        this.record(piece)
        this.touch()
      },
      release: (writer) => {
        if (this.writers.get(number) !== writer) return
        this.writers.delete(number)
        if (!this.records.has(number)) this.abandoned.set(number, writer.settled)
        else this.abandoned.delete(number)
      },
    }
    const writer = new PieceWriter(target, this.components.batches, number, offset, maxLength, this.abandoned.get(number) ?? Promise.resolve())
    this.writers.set(number, writer)
    return writer
  }

  async finish(options: { contentLengthBytes?: number; verifiedDigest?: string } = {}): Promise<void> {
    this.assertOpen()
    const contentLengthBytes = this.finalLength(options.contentLengthBytes)
    if (this.isComplete) {
      if (options.verifiedDigest !== undefined) await this.recordVerifiedDigest(options.verifiedDigest)
      return
    }
    const verifiedDigest = options.verifiedDigest === undefined ? this.currentVerifiedDigest : this.normalizeDigest(options.verifiedDigest)
    this.checkAllPieces(contentLengthBytes)
    const contentSeal = await this.components.backend.seal(contentLengthBytes).catch((error: unknown) => {
      this.assertOpen()
      throw error
    })
    // Deleted while the file was sealed: a new task may own its paths now, so write no metadata.
    this.assertOpen()
    const descriptor = { ...this.currentDescriptor, contentLengthBytes }
    await this.components.backend.saveMetadata({ descriptor, complete: true, verifiedDigest, pieces: [...this.records.values()], contentSeal })
    this.currentDescriptor = descriptor
    this.isComplete = true
    this.currentVerifiedDigest = verifiedDigest
    this.currentSeal = contentSeal
  }

  async contentIntact(): Promise<boolean> {
    if (this.state === 'removed') return false
    const { contentLengthBytes } = this.currentDescriptor
    if (!this.isComplete || contentLengthBytes === undefined) return true
    return await this.components.backend.contentIntact(this.currentSeal, contentLengthBytes)
  }

  async recordVerifiedDigest(digest: string): Promise<void> {
    this.assertOpen()
    const verifiedDigest = this.normalizeDigest(digest)
    if (!this.isComplete) throw this.error('INVALID_ARGUMENT', 'a verified digest can only be recorded for a complete task')
    await this.components.backend.saveMetadata({ ...this.snapshot(), verifiedDigest })
    this.currentVerifiedDigest = verifiedDigest
  }

  sendRange(start: number, endInclusive: number, sink: RangeSink, signal: AbortSignal): Promise<void> {
    this.checkReadable(start, endInclusive)
    return this.components.backend.send(start, endInclusive, sink, signal)
  }

  /** Throws unless bytes `[start, endInclusive]` lie within the content and within recorded pieces. */
  private checkReadable(start: number, endInclusive: number): void {
    this.assertOpen()
    if (!Number.isSafeInteger(start) || !Number.isSafeInteger(endInclusive) || start < 0 || endInclusive < start) {
      throw this.error('INVALID_ARGUMENT', `byte range must satisfy 0 <= start <= end, got ${start}-${endInclusive}`)
    }
    const { contentLengthBytes, pieceLengthBytes } = this.currentDescriptor
    if (contentLengthBytes !== undefined && endInclusive >= contentLengthBytes) {
      throw this.error('RANGE_NOT_SATISFIABLE', `byte range ${start}-${endInclusive} lies outside the content of ${contentLengthBytes} bytes`)
    }
    if (this.isComplete) return
    const { first, last } = piecesCovering(start, endInclusive, pieceLengthBytes)
    for (let number = first; number <= last; number++) {
      const piece = this.records.get(number)
      if (piece === undefined || (number === last && piece.offset + piece.length <= endInclusive)) {
        throw this.error('PIECE_NOT_FOUND', `piece ${number} is not stored, so bytes ${start}-${endInclusive} cannot be read`)
      }
    }
  }

  acquire(): () => void {
    this.holders++
    let released = false
    return () => {
      if (released) return
      released = true
      this.holders--
      if (this.holders === 0 && this.state === 'open') this.components.backend.idle()
    }
  }

  touch(): void {
    if (this.state !== 'open') return
    this.accessMs = this.components.clock.nowMs()
    this.components.backend.touched(this.accessMs)
  }

  /** Refuses further writes and waits for the ones under way; called by the store on delete and close. */
  async retire(state: 'removed' | 'closed'): Promise<void> {
    if (this.state === 'open') this.state = state
    await Promise.allSettled(this.inFlight)
  }

  private track<T>(operation: Promise<T>): Promise<T> {
    this.inFlight.add(operation)
    const forget = (): void => {
      this.inFlight.delete(operation)
    }
    operation.then(forget, forget)
    return operation
  }

  /** Where piece `number` starts and the most bytes it may hold; INVALID_ARGUMENT outside the content. */
  private pieceBounds(number: number): { offset: number; maxLength: number } {
    if (!Number.isSafeInteger(number) || number < 0) {
      throw this.error('INVALID_ARGUMENT', `piece number must be a non-negative integer, got ${number}`)
    }
    const { contentLengthBytes, pieceLengthBytes } = this.currentDescriptor
    if (contentLengthBytes === undefined) return { offset: number * pieceLengthBytes, maxLength: pieceLengthBytes }
    const range = pieceRange(number, contentLengthBytes, pieceLengthBytes)
    if (range.length === 0) throw this.error('INVALID_ARGUMENT', `piece ${number} lies outside the content (${pieceCount(contentLengthBytes, pieceLengthBytes)} pieces)`)
    return { offset: range.offset, maxLength: range.length }
  }

  private record(piece: PieceRecord): void {
    if (this.records.has(piece.number)) return
    this.records.set(piece.number, piece)
    this.recordOrder.push(piece.number)
    this.recordedBytes += piece.length
    if (piece.number > this.highestPieceNumber) this.highestPieceNumber = piece.number
    if (piece.length < this.currentDescriptor.pieceLengthBytes) this.shortPieceNumber = piece.number
    for (const wake of this.recordWaiters) wake()
  }

  /** The offset of piece `number` if it may hold `length` bytes; throws INVALID_ARGUMENT otherwise. */
  private expectPiece(number: number, length: number): number {
    if (!Number.isSafeInteger(number) || number < 0) {
      throw this.error('INVALID_ARGUMENT', `piece number must be a non-negative integer, got ${number}`)
    }
    const { contentLengthBytes, pieceLengthBytes } = this.currentDescriptor
    if (contentLengthBytes !== undefined) {
      const range = pieceRange(number, contentLengthBytes, pieceLengthBytes)
      if (range.length === 0) {
        throw this.error('INVALID_ARGUMENT', `piece ${number} lies outside the content (${pieceCount(contentLengthBytes, pieceLengthBytes)} pieces)`)
      }
      if (length !== range.length) throw this.error('INVALID_ARGUMENT', `piece ${number} must be ${range.length} bytes, got ${length}`)
      return range.offset
    }
    // Unknown length: only the last piece may be short, and no piece may follow it.
    if (length === 0 || length > pieceLengthBytes) {
      throw this.error('INVALID_ARGUMENT', `piece ${number} must be 1 to ${pieceLengthBytes} bytes, got ${length}`)
    }
    if (this.shortPieceNumber !== undefined && number > this.shortPieceNumber) {
      throw this.error('INVALID_ARGUMENT', `piece ${number} follows piece ${this.shortPieceNumber}, the shorter last piece`)
    }
    if (length < pieceLengthBytes && (this.shortPieceNumber !== undefined || number < this.highestPieceNumber)) {
      throw this.error('INVALID_ARGUMENT', `piece ${number} is shorter than ${pieceLengthBytes} bytes but is not the last piece`)
    }
    return number * pieceLengthBytes
  }

  private finalLength(given: number | undefined): number {
    const declared = this.currentDescriptor.contentLengthBytes
    if (given !== undefined && (!Number.isSafeInteger(given) || given < 0)) {
      throw this.error('INVALID_ARGUMENT', `content length must be a non-negative integer, got ${given}`)
    }
    if (declared !== undefined && given !== undefined && given !== declared) {
      throw this.error('INVALID_ARGUMENT', `content length is ${declared} bytes, finish was given ${given}`)
    }
    const length = declared ?? given
    if (length === undefined) throw this.error('INVALID_ARGUMENT', 'finishing a task of unknown length needs its content length')
    return length
  }

  private checkAllPieces(contentLengthBytes: number): void {
    const { pieceLengthBytes } = this.currentDescriptor
    const count = pieceCount(contentLengthBytes, pieceLengthBytes)
    for (const piece of this.records.values()) {
      const expected = pieceRange(piece.number, contentLengthBytes, pieceLengthBytes).length
      if (piece.length !== expected) {
        throw this.error('INVALID_ARGUMENT', `piece ${piece.number} holds ${piece.length} bytes, a content length of ${contentLengthBytes} makes it ${expected}`)
      }
    }
    // Every stored piece lies within `count`, so the numbers 0..count-1 are all present.
    if (this.records.size !== count) {
      throw this.error('INVALID_ARGUMENT', `cannot finish: ${this.records.size} of ${count} pieces are stored`)
    }
  }

  private normalizeDigest(digest: string): string {
    try {
      return formatDigest(parseDigest(digest))
    } catch (cause) {
      throw this.error('INVALID_ARGUMENT', `verified digest is malformed: ${JSON.stringify(digest)}`, cause)
    }
  }

  private assertOpen(): void {
    if (this.state === 'removed') throw this.error('TASK_NOT_FOUND', 'the task was deleted')
    if (this.state === 'closed') throw this.error('SHUTTING_DOWN', 'the content store is closed')
  }

  private error(code: ErrorCode, message: string, cause?: unknown): DamselflyError {
    return new DamselflyError(code, message, { cause, details: { taskId: this.currentDescriptor.taskId } })
  }
}
