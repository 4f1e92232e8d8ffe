import { open, rename, rm, stat, utimes, writeFile, type FileHandle } from 'node:fs/promises'
import type { Logger } from '../common/logger.js'
import { SerialQueue } from '../common/serial-queue.js'
import { DamselflyError } from '../protocol/damselfly-error.js'
import type { TaskId } from '../protocol/ids.js'
import type { PieceRecord } from './content-store.js'
import type { BatchBuffers } from './batch-buffers.js'
import { encodeMetadata, journalLine, type TaskPaths } from './file-layout.js'
import { LazyFileHandle } from './lazy-file-handle.js'
import { sendFileRange, type RangeSink } from './send-file-range.js'
import type { ReadBudget } from './read-budget.js'
import { storageFailed } from './storage-failed.js'
import type { ContentSeal, TaskBackend, TaskSnapshot } from './task-record.js'

/** A complete task's content file: a user holding a hard link to it cannot write through it by accident. */
/** Complete content: read-only, and for the daemon's user only (a dfget by that user may hard-link it). */
const SEALED_CONTENT_MODE = 0o400

function isMissing(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code
  return code === 'ENOENT' || code === 'ENOTDIR'
}

function isDiskFull(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code
  return code === 'ENOSPC' || code === 'EDQUOT'
}

/**
 * One task's files: the content file written with positional writes, an append-only journal of
 * finished pieces, and a metadata file replaced atomically.
 */
export class FileTaskBackend implements TaskBackend {
  private readonly content: LazyFileHandle
  /** Read-only, for serving pieces: one descriptor per task however many requests it serves. */
  private readonly reader: LazyFileHandle
  private readonly journal: LazyFileHandle
  /**
   * The content file's writes, one at a time. The kernel holds the file's lock through each
   * buffered write anyway, and writes queued in several threads of the pool spin on that lock: 0.4
   * to 0.5 CPU-seconds per GiB a daemon downloaded, in a profile (docs/benchmarks.md, trust-cost).
   */
  private readonly contentWrites = new SerialQueue()
  /** Metadata writes and access-time updates, one at a time so an older one never lands last. */
  private readonly metadataWrites = new SerialQueue()
  private readonly background = new Set<Promise<void>>()
  private latestAccessMs: number
  private persistedAccessMs: number
  /** Set by `close()`: the task was deleted or the store closed, so its paths may soon name another task's files. */
  private retired = false

  constructor(
    private readonly components: { logger: Logger; readBudget: ReadBudget; buffers: BatchBuffers },
    private readonly init: { taskId: TaskId; paths: TaskPaths; lastAccessMs: number; touchPersistIntervalMs: number; contentHandle?: FileHandle },
  ) {
    const { paths, contentHandle } = init
    this.content = new LazyFileHandle(contentHandle === undefined ? { path: paths.content, flags: 'r+' } : { path: paths.content, flags: 'r+', handle: contentHandle })
    this.reader = new LazyFileHandle({ path: paths.content, flags: 'r' })
    this.journal = new LazyFileHandle({ path: paths.journal, flags: 'a' })
    this.latestAccessMs = init.lastAccessMs
    this.persistedAccessMs = init.lastAccessMs
  }

  get contentPath(): string {
    return this.init.paths.content
  }

  async writeAt(pieceNumber: number, offset: number, chunks: readonly Uint8Array[]): Promise<void> {
    let length = 0
    for (const chunk of chunks) length += chunk.byteLength
    try {
      // Every write names its position, so pieces may share the one handle.
      const written = await this.contentWrites.run(() => this.content.use((handle) => handle.writev(chunks, offset)))
      // A positional write to a regular file comes up short only when the disk or quota is full.
      if (written.bytesWritten !== length) throw Object.assign(new Error(`wrote ${written.bytesWritten} of ${length} bytes`), { code: 'ENOSPC' })
    } catch (cause) {
      throw this.writeFailed(`writing piece ${pieceNumber} failed`, cause)
    }
  }

  async recordPiece(piece: PieceRecord): Promise<void> {
    try {
      // The record calls this only after the piece's bytes are written, so after a crash every journaled piece is on disk.
      const line = journalLine(piece)
      const appended = await this.journal.use((handle) => handle.write(line))
      if (appended.bytesWritten !== line.length) throw Object.assign(new Error(`appended ${appended.bytesWritten} of ${line.length} journal bytes`), { code: 'ENOSPC' })
    } catch (cause) {
      throw this.writeFailed(`recording piece ${piece.number} failed`, cause)
    }
  }

  saveMetadata(snapshot: TaskSnapshot): Promise<void> {
    return this.metadataWrites.run(() => this.writeMetadata(snapshot))
  }

  async send(start: number, endInclusive: number, sink: RangeSink, signal: AbortSignal): Promise<void> {
    // Once closed, the path may name another task's file.
    if (this.retired) throw storageFailed('the task was closed', new Error('the task was closed'), this.init.taskId)
    const release = this.components.readBudget.open()
    try {
      await this.reader.use((handle) => sendFileRange(handle, { start, endInclusive }, { buffers: this.components.buffers, chunkBytes: this.components.readBudget.chunkBytes() }, sink, signal))
    } finally {
      release()
    }
  }

  async seal(contentLengthBytes: number): Promise<ContentSeal | undefined> {
    const { taskId, paths } = this.init
    let handle: FileHandle | undefined
    try {
      await this.content.close()
      // Sealed through a handle opened before any delete, so a task created anew at the path is never touched.
      handle = await open(paths.content, 'r')
      if (this.retired) throw new Error('the task was closed while its content was sealed')
      await handle.chmod(SEALED_CONTENT_MODE)
      // After every write, so the recorded modification time is the last one this store made.
      const stats = await handle.stat()
      return { sizeBytes: stats.size, mtimeMs: stats.mtimeMs }
    } catch (cause) {
      if (contentLengthBytes === 0 && isMissing(cause)) return undefined
      throw storageFailed('sealing the content file failed', cause, taskId)
    } finally {
      await handle?.close().catch((error: unknown) => {
        this.components.logger.warn({ err: error, taskId }, 'closing a sealed content file failed')
      })
    }
  }

  async contentIntact(seal: ContentSeal | undefined, contentLengthBytes: number): Promise<boolean> {
    let stats
    try {
      stats = await stat(this.init.paths.content)
    } catch (cause) {
      if (isMissing(cause)) return contentLengthBytes === 0
      throw storageFailed('checking the content file failed', cause, this.init.taskId)
    }
    if (!stats.isFile() || stats.size !== contentLengthBytes) return false
    // An empty file has no bytes to change, whatever its modification time says.
    if (contentLengthBytes === 0 || seal === undefined) return true
    return stats.size === seal.sizeBytes && stats.mtimeMs === seal.mtimeMs
  }

  idle(): void {
    // Incomplete tasks nobody holds may wait days for a retry; their handles are reopened on the next write.
    this.inBackground(this.closeHandles())
  }

  touched(nowMs: number): void {
    this.latestAccessMs = nowMs
    if (nowMs - this.persistedAccessMs < this.init.touchPersistIntervalMs) return
    this.persistedAccessMs = nowMs
    const seconds = nowMs / 1000
    this.inBackground(this.metadataWrites.run(() => utimes(this.init.paths.metadata, seconds, seconds)))
  }

  /** Waits for writes and access-time updates under way, then closes the file handles. */
  async close(): Promise<void> {
    this.retired = true
    await this.metadataWrites.idle()
    await Promise.allSettled(this.background)
    await this.closeHandles()
  }

  /** Deletes the task's files: metadata first, so a crash part-way leaves content that `open()` removes. */
  async remove(): Promise<void> {
    const { metadata, metadataTemp, journal, content } = this.init.paths
    try {
      await rm(metadata, { force: true })
      await Promise.all([rm(journal, { force: true }), rm(metadataTemp, { force: true })])
      await rm(content, { force: true })
    } catch (cause) {
      throw storageFailed('deleting the task files failed', cause, this.init.taskId)
    }
  }

  private async writeMetadata(snapshot: TaskSnapshot): Promise<void> {
    const { metadata, metadataTemp, journal } = this.init.paths
    try {
      await writeFile(metadataTemp, encodeMetadata(snapshot), { mode: 0o600 })
      // The metadata file's mtime is the task's last access time, read back by open().
      const seconds = this.latestAccessMs / 1000
      await utimes(metadataTemp, seconds, seconds)
      await rename(metadataTemp, metadata)
      this.persistedAccessMs = this.latestAccessMs
      if (snapshot.complete) {
        // The metadata file now lists every piece, so the journal has served its purpose.
        await this.closeHandles()
        await rm(journal, { force: true })
      }
    } catch (cause) {
      throw storageFailed('writing the task metadata failed', cause, this.init.taskId)
    }
  }

  private writeFailed(message: string, cause: unknown): DamselflyError {
    if (isDiskFull(cause)) {
      return new DamselflyError('NO_SPACE', `the disk is full: ${message}: ${(cause as Error).message}`, { cause, details: { taskId: this.init.taskId } })
    }
    return storageFailed(message, cause, this.init.taskId)
  }

  private async closeHandles(): Promise<void> {
    try {
      await Promise.all([this.content.close(), this.reader.close(), this.journal.close()])
    } catch (cause) {
      throw storageFailed('closing the task files failed', cause, this.init.taskId)
    }
  }

  private inBackground(work: Promise<void>): void {
    const tracked = work.catch((error: unknown) => {
      this.components.logger.warn({ err: error, taskId: this.init.taskId }, 'task file maintenance failed')
    })
    this.background.add(tracked)
    void tracked.finally(() => this.background.delete(tracked))
  }
}
