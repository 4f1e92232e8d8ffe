import type { TaskId } from '../protocol/ids.js'
import type { RangeSink } from './send-file-range.js'
import type { PieceWriter } from './piece-writer.js'

/** What the store records about a task when it is created; immutable afterwards except as noted. */
export interface TaskDescriptor {
  readonly taskId: TaskId
  /** The URL with filtered query parameters removed: for diagnosis, never holds signatures. */
  readonly url: string
  /** Undefined until known; set once by {@link StoredTask.finish} for content of unknown length. */
  readonly contentLengthBytes: number | undefined
  readonly pieceLengthBytes: number
  /** The origin's validators at creation, to tell whether resumed pieces still belong to it. */
  readonly etag?: string | undefined
  readonly lastModified?: string | undefined
  readonly contentType?: string | undefined
  readonly tag?: string | undefined
  readonly application?: string | undefined
  readonly createdAtMs: number
}

/** A verified piece as the store keeps it. `digest` is lowercase hex sha256 of its bytes. */
export interface PieceRecord {
  readonly number: number
  readonly offset: number
  readonly length: number
  readonly digest: string
}

export interface TaskSummary {
  readonly descriptor: TaskDescriptor
  readonly complete: boolean
  readonly finishedPieceCount: number
  /** Bytes of finished pieces on disk. */
  readonly storedBytes: number
  readonly lastAccessMs: number
  /** Holders of {@link StoredTask.acquire} right now; GC never evicts a task in use. */
  readonly inUse: boolean
}

/**
 * One task's content and metadata. Pieces are written at their offsets in any order and survive
 * a process crash: what {@link StoredTask.piece} reports after a restart was fully written.
 */
export interface StoredTask {
  readonly descriptor: TaskDescriptor
  readonly complete: boolean
  /** Whole-content digest checked at completion, as `<algorithm>:<hex>`, when one was given. */
  readonly verifiedDigest: string | undefined
  readonly finishedPieceCount: number
  piece(number: number): PieceRecord | undefined
  /** The recorded pieces in the order they were recorded (not by number). */
  pieces(): IterableIterator<PieceRecord>
  /** The numbers of the pieces recorded after the first `count`, in the order they were recorded. */
  piecesRecordedSince(count: number): number[]
  /** Resolves once a piece is recorded after this call, or once `signal` aborts, whichever comes first; never rejects. */
  pieceRecorded(signal: AbortSignal): Promise<void>
  /**
   * A writer for piece `number`, which hashes its bytes and writes them at their offset as they
   * arrive; the piece is recorded (and readable) only once the caller commits it after checking
   * its digest. Undefined when the piece is recorded already. One writer per piece at a time:
   * INVALID_ARGUMENT while another is open, or when the piece number lies outside the content.
   * Its writes and its commit fail with INVALID_ARGUMENT when the byte count does not fit the
   * piece (for content of unknown length: more than the piece length, or short but not last),
   * TASK_NOT_FOUND after the task was deleted, SHUTTING_DOWN after the store closed, NO_SPACE when
   * the disk (or quota) is full, STORAGE_FAILED when the disk refuses otherwise; nothing is
   * recorded then.
   */
  openPiece(number: number): PieceWriter | undefined
  /**
   * Marks the task complete once every piece is recorded. For content of unknown length,
   * `contentLengthBytes` sets it now (and is required). `verifiedDigest` is recorded when given.
   * A file store makes the content file read-only and records its size and modification time for
   * {@link StoredTask.contentIntact}. Safe to repeat. Fails with INVALID_ARGUMENT when a piece is
   * missing, a length disagrees or the digest is malformed, TASK_NOT_FOUND or SHUTTING_DOWN as
   * {@link StoredTask.openPiece}'s writers do, STORAGE_FAILED when the disk refuses; the task then stays incomplete.
   */
  finish(options?: { contentLengthBytes?: number; verifiedDigest?: string }): Promise<void>
  /** Records a whole-content digest checked after completion; INVALID_ARGUMENT before completion. */
  recordVerifiedDigest(digest: string): Promise<void>
  /**
   * Sends bytes `[start, endInclusive]` to `sink` in order, reading into buffers it reuses: a
   * chunk's memory is read into again only once the sink's promise for it resolved, so nothing is
   * allocated per chunk. Every piece covering the range must be recorded: throws at once
   * INVALID_ARGUMENT for a malformed range, RANGE_NOT_SATISFIABLE past the content's end,
   * PIECE_NOT_FOUND for a piece not stored. Rejects with the file system's error (wrap it with
   * `toDamselflyError(error, 'STORAGE_FAILED')`) or the sink's; stops once `signal` aborts.
   */
  sendRange(start: number, endInclusive: number, sink: RangeSink, signal: AbortSignal): Promise<void>
  /**
   * Absolute path of the content file, for copying or hard-linking a complete task; undefined for
   * stores without files. Once the task is complete the file is read-only, for the daemon's user only (mode 0o400).
   */
  readonly contentPath: string | undefined
  /**
   * Whether the content of a complete task is still what it finished with, so it may be served or
   * linked: its content file exists with the size and modification time recorded by
   * {@link StoredTask.finish} (for tasks finished before these were recorded: with the content's
   * length). Content of 0 bytes is intact while the file, if any, is empty. True for an incomplete
   * task (nothing is sealed yet) and for stores without files; false once the task was deleted or
   * its file is gone. Reads file metadata only, so it is cheap and safe to repeat. Fails with
   * STORAGE_FAILED only when the file system refuses for another reason than a missing file.
   */
  contentIntact(): Promise<boolean>
  /** Marks the task in use; the returned function releases it (safe to call twice). */
  acquire(): () => void
  /** Records an access now, for least-recently-used eviction. */
  touch(): void
}

/**
 * Where tasks live on a host. Implementations: the file store (production) and a memory store
 * (unit tests). A shared contract suite (content-store.contract.ts) runs against both.
 */
export interface ContentStore {
  /** Loads what survived earlier runs. Call once before anything else. */
  open(): Promise<void>
  get(taskId: TaskId): StoredTask | undefined
  /**
   * Creates an empty task, replacing any stored task of the same id (even one in use: its writes
   * then fail with TASK_NOT_FOUND). INVALID_ARGUMENT for a malformed descriptor.
   */
  create(descriptor: TaskDescriptor): Promise<StoredTask>
  /**
   * Removes the task and its content once writes under way settled; a no-op for an unknown id.
   * Resolves with whether the task is gone: false while in use unless forced.
   */
  delete(taskId: TaskId, options?: { force?: boolean }): Promise<boolean>
  list(): TaskSummary[]
  /** Sum of the stored bytes of every task. */
  usedBytes(): number
  /** Waits for writes under way and releases file handles; later writes fail with SHUTTING_DOWN. */
  close(): Promise<void>
}
