import { systemClock, type Clock } from '../common/clock.js'
import type { Logger } from '../common/logger.js'
import type { TaskId } from '../protocol/ids.js'
import { piecesCovering } from '../protocol/piece.js'
import { BatchBuffers, DEFAULT_BATCH_BUFFERS } from './batch-buffers.js'
import type { RangeSink } from './send-file-range.js'
import type { ContentStore, PieceRecord, StoredTask, TaskDescriptor, TaskSummary } from './content-store.js'
import { checkDescriptor, TaskRecord, type TaskBackend } from './task-record.js'

class MemoryTaskBackend implements TaskBackend {
  readonly contentPath = undefined
  private readonly bytes = new Map<number, Buffer>()

  constructor(private readonly pieceLengthBytes: number) {}

  writeAt(_pieceNumber: number, offset: number, chunks: readonly Uint8Array[]): Promise<void> {
    // Copied because callers may reuse their buffers once the write resolves.
    let at = offset
    for (const chunk of chunks) {
      const number = Math.floor(at / this.pieceLengthBytes)
      let piece = this.bytes.get(number)
      if (piece === undefined) {
        piece = Buffer.alloc(this.pieceLengthBytes)
        this.bytes.set(number, piece)
      }
      piece.set(chunk, at - number * this.pieceLengthBytes)
      at += chunk.byteLength
    }
    return Promise.resolve()
  }

  recordPiece(piece: PieceRecord): Promise<void> {
    const bytes = this.bytes.get(piece.number) ?? Buffer.alloc(0)
    this.bytes.set(piece.number, bytes.subarray(0, piece.length))
    return Promise.resolve()
  }

  saveMetadata(): Promise<void> {
    return Promise.resolve()
  }

  private slices(start: number, endInclusive: number): Buffer[] {
    const { first, last } = piecesCovering(start, endInclusive, this.pieceLengthBytes)
    const slices: Buffer[] = []
    for (let number = first; number <= last; number++) {
      const piece = this.bytes.get(number) ?? Buffer.alloc(0)
      const offset = number * this.pieceLengthBytes
      slices.push(piece.subarray(Math.max(0, start - offset), endInclusive + 1 - offset))
    }
    return slices
  }

  async send(start: number, endInclusive: number, sink: RangeSink, signal: AbortSignal): Promise<void> {
    for (const chunk of this.slices(start, endInclusive)) {
      signal.throwIfAborted()
      await sink(chunk)
    }
  }

  seal(): Promise<undefined> {
    // No one else can reach these bytes, and no piece is written once every piece is recorded.
    return Promise.resolve(undefined)
  }

  contentIntact(): Promise<boolean> {
    return Promise.resolve(true)
  }

  idle(): void {
    // Nothing to release: memory holds no handles.
  }

  touched(): void {
    // Access times live only in the record.
  }
}

/**
 * A {@link ContentStore} in memory with the same rules as the file store, for unit tests of its
 * users. Nothing survives the process; `contentPath` is undefined.
 */
export class MemoryContentStore implements ContentStore {
  /** Write batches shared by every piece writer of the store. */
  private readonly batches = new BatchBuffers(DEFAULT_BATCH_BUFFERS)
  private readonly tasks = new Map<TaskId, TaskRecord>()

  constructor(private readonly components: { logger: Logger; clock?: Clock }) {}

  private get clock(): Clock {
    return this.components.clock ?? systemClock
  }

  open(): Promise<void> {
    return Promise.resolve()
  }

  get(taskId: TaskId): StoredTask | undefined {
    return this.tasks.get(taskId)
  }

  async create(descriptor: TaskDescriptor): Promise<StoredTask> {
    checkDescriptor(descriptor)
    await this.delete(descriptor.taskId, { force: true })
    const task = new TaskRecord(
      { backend: new MemoryTaskBackend(descriptor.pieceLengthBytes), clock: this.clock, batches: this.batches },
      { descriptor, complete: false, verifiedDigest: undefined, contentSeal: undefined, pieces: [], lastAccessMs: this.clock.nowMs() },
    )
    this.tasks.set(descriptor.taskId, task)
    return task
  }

  async delete(taskId: TaskId, options: { force?: boolean } = {}): Promise<boolean> {
    const task = this.tasks.get(taskId)
    if (task === undefined) return true
    if (task.inUse && options.force !== true) return false
    this.tasks.delete(taskId)
    await task.retire('removed')
    this.components.logger.debug({ taskId }, 'task deleted')
    return true
  }

  list(): TaskSummary[] {
    return [...this.tasks.values()].map((task) => task.summary())
  }

  usedBytes(): number {
    let total = 0
    for (const task of this.tasks.values()) total += task.storedBytes
    return total
  }

  async close(): Promise<void> {
    await Promise.all([...this.tasks.values()].map((task) => task.retire('closed')))
  }
}
