import { chmod, mkdir, open as openFile, readdir, readFile, rm, stat, type FileHandle } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { systemClock, type Clock } from '../common/clock.js'
import type { Logger } from '../common/logger.js'
import { DamselflyError } from '../protocol/damselfly-error.js'
import type { TaskId } from '../protocol/ids.js'
import { pieceCount } from '../protocol/piece.js'
import { BatchBuffers, DEFAULT_BATCH_BUFFERS } from './batch-buffers.js'
import type { ContentStore, StoredTask, TaskDescriptor, TaskSummary } from './content-store.js'
import {
  contentRoot, decodeJournal, decodeMetadata, JOURNAL_FILE, METADATA_FILE, metadataRoot, pieceFits, PREFIX_DIR, taskPaths,
  type StoredMetadata,
} from './file-layout.js'
import { FileTaskBackend } from './file-task-backend.js'
import { ReadBudget, type ReadBudgetInit } from './read-budget.js'
import { storageFailed } from './storage-failed.js'
import { checkDescriptor, TaskRecord } from './task-record.js'

/** Persisting an access time costs a syscall; finer resolution than this buys GC nothing. */
const DEFAULT_TOUCH_PERSIST_INTERVAL_MS = 60_000
/** Every directory of the store: the daemon's user only. */
const DIR_MODE = 0o700

/** Tasks loaded at once by `open()`: enough to keep the disk busy, few enough to bound open files. */
const LOAD_CONCURRENCY = 16

interface FileTask {
  readonly record: TaskRecord
  readonly backend: FileTaskBackend
}

interface FoundFiles {
  readonly content: Set<TaskId>
  readonly metadata: Set<TaskId>
  readonly journals: Set<TaskId>
}

/**
 * The production {@link ContentStore}: one content file per task under
 * `<dataDir>/content/tasks/<id[0:3]>/<id>`, and beside it under `<dataDir>/metadata/tasks/` a
 * metadata file (`<id>.json`, replaced atomically) and a journal of finished pieces
 * (`<id>.pieces`, folded into the metadata file on completion). A piece is journaled only after
 * its bytes were written, so whatever a restart finds in the journal is on disk. Nothing is
 * fsynced: this survives a killed process, not a lost machine, and children verify every piece.
 */
export class FileContentStore implements ContentStore {
  /** Write batches shared by every piece writer of the store. */
  private readonly batches = new BatchBuffers(DEFAULT_BATCH_BUFFERS)
  private readonly tasks = new Map<TaskId, FileTask>()
  private readonly locks = new Map<TaskId, Promise<void>>()
  private readonly logger: Logger
  /** Shared by the read streams of every task, so many readers at once hold little memory each. */
  private readonly readBudget: ReadBudget
  private closed = false

  constructor(
    private readonly components: { logger: Logger; clock?: Clock },
    private readonly init: { dataDir: string; touchPersistIntervalMs?: number; readBudget?: ReadBudgetInit },
  ) {
    this.logger = components.logger.child({ component: 'content-store' })
    this.readBudget = new ReadBudget(init.readBudget)
  }

  private get clock(): Clock {
    return this.components.clock ?? systemClock
  }

  async open(): Promise<void> {
    const { dataDir } = this.init
    let found: FoundFiles
    try {
      // Only the daemon's user may look inside: what is stored may be a private image's layers.
      await mkdir(dataDir, { recursive: true, mode: DIR_MODE })
      await chmod(dataDir, DIR_MODE)
      await mkdir(contentRoot(dataDir), { recursive: true, mode: DIR_MODE })
      await mkdir(metadataRoot(dataDir), { recursive: true, mode: DIR_MODE })
      found = await this.scan()
    } catch (cause) {
      throw storageFailed(`scanning ${dataDir} failed`, cause)
    }
    const ids = [...found.metadata]
    for (let index = 0; index < ids.length; index += LOAD_CONCURRENCY) {
      await Promise.all(ids.slice(index, index + LOAD_CONCURRENCY).map((taskId) => this.load(taskId, found)))
    }
    const orphans = new Set([...found.content, ...found.journals].filter((taskId) => !found.metadata.has(taskId)))
    await Promise.all([...orphans].map((taskId) => this.removeFiles(taskId, 'files without metadata')))
    this.logger.info({ tasks: this.tasks.size, usedBytes: this.usedBytes() }, 'content store opened')
  }

  get(taskId: TaskId): StoredTask | undefined {
    return this.tasks.get(taskId)?.record
  }

  async create(descriptor: TaskDescriptor): Promise<StoredTask> {
    checkDescriptor(descriptor)
    const { taskId } = descriptor
    return await this.exclusive(taskId, async () => {
      if (this.closed) throw new DamselflyError('SHUTTING_DOWN', 'the content store is closed', { details: { taskId } })
      await this.remove(taskId, true)
      const paths = taskPaths(this.init.dataDir, taskId)
      const lastAccessMs = this.clock.nowMs()
      let backend: FileTaskBackend
      try {
        await mkdir(dirname(paths.content), { recursive: true, mode: DIR_MODE })
        await mkdir(dirname(paths.metadata), { recursive: true, mode: DIR_MODE })
        // Opened once here and kept: the download that follows writes every piece through it.
        const contentHandle = await openFile(paths.content, 'w', 0o600)
        backend = this.backend(taskId, lastAccessMs, contentHandle)
      } catch (cause) {
        throw storageFailed('creating the content file failed', cause, taskId)
      }
      const record = new TaskRecord(
        { backend, clock: this.clock, batches: this.batches },
        { descriptor, complete: false, verifiedDigest: undefined, contentSeal: undefined, pieces: [], lastAccessMs },
      )
      try {
        await backend.saveMetadata(record.snapshot())
      } catch (error) {
        await backend.close().catch((closeError: unknown) => {
          this.logger.warn({ err: closeError, taskId }, 'closing a task that failed to be created failed')
        })
        await this.removeFiles(taskId, 'creation failed')
        throw error
      }
      this.tasks.set(taskId, { record, backend })
      return record
    })
  }

  delete(taskId: TaskId, options: { force?: boolean } = {}): Promise<boolean> {
    return this.exclusive(taskId, () => this.remove(taskId, options.force === true))
  }

  list(): TaskSummary[] {
    return [...this.tasks.values()].map((task) => task.record.summary())
  }

  usedBytes(): number {
    let total = 0
    for (const task of this.tasks.values()) total += task.record.storedBytes
    return total
  }

  async close(): Promise<void> {
    this.closed = true
    const results = await Promise.allSettled(
      [...this.tasks.values()].map(async (task) => {
        await task.record.retire('closed')
        await task.backend.close()
      }),
    )
    const failure = results.find((result) => result.status === 'rejected')
    if (failure !== undefined) throw storageFailed('closing the content store failed', failure.reason)
  }

  private async remove(taskId: TaskId, force: boolean): Promise<boolean> {
    const task = this.tasks.get(taskId)
    if (task === undefined) return true
    if (task.record.inUse && !force) return false
    this.tasks.delete(taskId)
    await task.record.retire('removed')
    // The files go regardless: a handle that failed to close no longer matters once they are unlinked.
    await task.backend.close().catch((error: unknown) => {
      this.logger.warn({ err: error, taskId }, 'closing a deleted task failed')
    })
    await task.backend.remove()
    this.logger.debug({ taskId, bytes: task.record.storedBytes }, 'task deleted')
    return true
  }

  /** Runs operations on one task id one after another, so a create never races a delete. */
  private async exclusive<T>(taskId: TaskId, operation: () => Promise<T>): Promise<T> {
    const run = (this.locks.get(taskId) ?? Promise.resolve()).then(operation)
    const settled = run.then(
      () => undefined,
      () => undefined,
    )
    this.locks.set(taskId, settled)
    try {
      return await run
    } finally {
      if (this.locks.get(taskId) === settled) this.locks.delete(taskId)
    }
  }

  private backend(taskId: TaskId, lastAccessMs: number, contentHandle?: FileHandle): FileTaskBackend {
    const init = {
      taskId,
      paths: taskPaths(this.init.dataDir, taskId),
      lastAccessMs,
      touchPersistIntervalMs: this.init.touchPersistIntervalMs ?? DEFAULT_TOUCH_PERSIST_INTERVAL_MS,
    }
    return new FileTaskBackend({ logger: this.logger, readBudget: this.readBudget, buffers: this.batches }, contentHandle === undefined ? init : { ...init, contentHandle })
  }

  /** Lists the task files on disk, deleting whatever this store did not write (leftover temp files included). */
  private async scan(): Promise<FoundFiles> {
    const found: FoundFiles = { content: new Set(), metadata: new Set(), journals: new Set() }
    await this.scanTree(contentRoot(this.init.dataDir), (prefix, name) => {
      if (name.length !== 64 || !name.startsWith(prefix) || !/^[0-9a-f]{64}$/.test(name)) return false
      found.content.add(name as TaskId)
      return true
    })
    await this.scanTree(metadataRoot(this.init.dataDir), (prefix, name) => {
      const metadata = METADATA_FILE.exec(name)?.[1]
      const journal = JOURNAL_FILE.exec(name)?.[1]
      const taskId = metadata ?? journal
      if (taskId === undefined || !taskId.startsWith(prefix)) return false
      ;(metadata === undefined ? found.journals : found.metadata).add(taskId as TaskId)
      return true
    })
    return found
  }

  private async scanTree(root: string, accept: (prefix: string, name: string) => boolean): Promise<void> {
    for (const prefix of await readdir(root, { withFileTypes: true })) {
      const prefixPath = join(root, prefix.name)
      if (!prefix.isDirectory() || !PREFIX_DIR.test(prefix.name)) {
        await this.removeJunk(prefixPath)
        continue
      }
      for (const entry of await readdir(prefixPath, { withFileTypes: true })) {
        if (!entry.isFile() || !accept(prefix.name, entry.name)) await this.removeJunk(join(prefixPath, entry.name))
      }
    }
  }

  private async removeJunk(path: string): Promise<void> {
    this.logger.warn({ path }, 'removing stray file')
    await rm(path, { recursive: true, force: true })
  }

  private async load(taskId: TaskId, found: FoundFiles): Promise<void> {
    if (!found.content.has(taskId)) {
      await this.removeFiles(taskId, 'content file missing')
      return
    }
    const paths = taskPaths(this.init.dataDir, taskId)
    let stored: StoredMetadata | undefined
    let journal = { pieces: [] as StoredMetadata['pieces'], skippedLines: 0 }
    let lastAccessMs: number
    let fileBytes: number
    try {
      const [text, metadataStats, contentStats] = await Promise.all([readFile(paths.metadata, 'utf8'), stat(paths.metadata), stat(paths.content)])
      stored = decodeMetadata(text)
      lastAccessMs = metadataStats.mtimeMs
      fileBytes = contentStats.size
      if (found.journals.has(taskId)) journal = decodeJournal(await readFile(paths.journal, 'utf8'))
    } catch (cause) {
      throw storageFailed('loading a stored task failed', cause, taskId)
    }
    if (stored === undefined || stored.descriptor.taskId !== taskId) {
      await this.removeFiles(taskId, 'metadata unreadable')
      return
    }
    const { descriptor } = stored
    const candidates = [...stored.pieces, ...journal.pieces]
    const pieces = candidates.filter((piece) => pieceFits(piece, descriptor, fileBytes))
    const intact = pieces.length === candidates.length
    if (stored.complete && !(intact && this.coversContent(descriptor, pieces))) {
      await this.removeFiles(taskId, 'complete task lacks pieces')
      return
    }
    if (journal.skippedLines > 0 || !intact) {
      this.logger.info({ taskId, skippedLines: journal.skippedLines, droppedPieces: candidates.length - pieces.length }, 'journal entries ignored')
    }
    if (stored.complete && found.journals.has(taskId)) {
      // A crash between folding the journal into the metadata file and deleting it leaves both.
      await rm(paths.journal, { force: true }).catch((cause: unknown) => {
        throw storageFailed('removing a folded journal failed', cause, taskId)
      })
    }
    const backend = this.backend(taskId, lastAccessMs)
    const record = new TaskRecord(
      { backend, clock: this.clock, batches: this.batches },
      { descriptor, complete: stored.complete, verifiedDigest: stored.verifiedDigest, contentSeal: stored.contentSeal, pieces, lastAccessMs },
    )
    this.tasks.set(taskId, { record, backend })
  }

  private coversContent(descriptor: TaskDescriptor, pieces: StoredMetadata['pieces']): boolean {
    const { contentLengthBytes, pieceLengthBytes } = descriptor
    if (contentLengthBytes === undefined) return false
    return new Set(pieces.map((piece) => piece.number)).size === pieceCount(contentLengthBytes, pieceLengthBytes)
  }

  private async removeFiles(taskId: TaskId, reason: string): Promise<void> {
    const paths = taskPaths(this.init.dataDir, taskId)
    this.logger.warn({ taskId, reason }, 'removing stored task files')
    try {
      for (const path of [paths.metadata, paths.metadataTemp, paths.journal, paths.content]) await rm(path, { force: true })
    } catch (cause) {
      throw storageFailed('removing stored task files failed', cause, taskId)
    }
  }
}
