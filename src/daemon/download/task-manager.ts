import type { Startable } from '../../common/startable.js'
import { DamselflyError } from '../../protocol/damselfly-error.js'
import type { TaskId } from '../../protocol/ids.js'
import { pieceCount } from '../../protocol/piece.js'
import { filterUrl, taskIdFor } from '../../protocol/task-id.js'
import type { StoredTask, TaskDescriptor } from '../../storage/content-store.js'
import type { RangeSink } from '../../storage/send-file-range.js'
import { BlobAccess } from './blob-access.js'
import { verifyContentDigest } from './content-digest.js'
import type { DownloadRequest } from './download-request.js'
import { TaskDownload, type TaskDownloadComponents } from './task-download.js'

export interface TaskManagerInit {
  readonly concurrentPieceCount: number
  readonly retryCount: number
  /** The daemon's filtered query parameters; a request's own list adds to them. */
  readonly filteredQueryParams: readonly string[]
  /** Ask an OCI blob's registry, with the client's credentials, before serving the blob; remember a yes this long. Off when undefined. */
  readonly blobAccessCacheTtlMs?: number | undefined
}

/** A client's view of one task's download, shared with every other client of the same task. */
export interface TaskHandle {
  readonly taskId: TaskId
  /** Resolves once content and piece length are known. */
  readonly descriptor: Promise<TaskDescriptor>
  /** Resolves with the complete, digest-checked task; rejects with a DamselflyError. */
  readonly done: Promise<StoredTask>
  /**
   * Sends bytes `[start, endInclusive]` to `sink` in order as the pieces land (no end: to the end
   * of the content), from the store's reused buffers: a chunk's memory is read into again once
   * the sink's promise for it resolved (see {@link RangeSink}). Only recorded pieces are read. A
   * whole-content send of content with a known digest holds its last piece until the digest
   * matched. Rejects with the download's error, with DIGEST_MISMATCH when the content it began
   * with was discarded, with the sink's failure, or with `signal.reason` once `signal` aborts.
   */
  send(start: number, endInclusive: number | undefined, sink: RangeSink, signal: AbortSignal): Promise<void>
}

/** Starts a download per task, joins concurrent requests for the same task, and stops them all on shutdown. */
export class TaskManager implements Startable {
  private readonly active = new Map<TaskId, TaskDownload>()
  private stopping = false
  private readonly shutdown = new AbortController()

  private readonly access: BlobAccess | undefined

  constructor(
    private readonly components: TaskDownloadComponents,
    private readonly init: TaskManagerInit,
  ) {
    this.access = init.blobAccessCacheTtlMs === undefined ? undefined : new BlobAccess(components, { cacheTtlMs: init.blobAccessCacheTtlMs })
  }

  start(): Promise<void> {
    return Promise.resolve()
  }

  async stop(): Promise<void> {
    this.stopping = true
    this.shutdown.abort(new DamselflyError('SHUTTING_DOWN', 'the daemon is stopping'))
    await Promise.all([...this.active.values()].map((download) => download.stop()))
  }

  /**
   * Fails the task's running download with CANCELLED (`reason` as its message) for every client
   * of it, and resolves once no piece of it is in flight, with whether one was running. The task
   * stays in the store with the pieces it has (a later download resumes them). Safe to repeat.
   */
  async abort(taskId: TaskId, reason: string): Promise<boolean> {
    const running = this.active.get(taskId)
    if (running === undefined) return false
    await running.abort(new DamselflyError('CANCELLED', reason, { details: { taskId } }))
    return true
  }

  /** Whether a download of the task runs on this host right now (started by any client). */
  isRunning(taskId: TaskId): boolean {
    return this.active.has(taskId)
  }

  /** Whether the task is complete in this host's store right now (a request for it is a cache hit). */
  isComplete(taskId: TaskId): boolean {
    return this.components.store.get(taskId)?.complete === true
  }

  /** The task id a request names; one function for every component (protocol/task-id.ts). */
  identify(request: DownloadRequest): { taskId: TaskId; filteredUrl: string; filteredQueryParams: readonly string[] } {
    const filteredQueryParams = [...new Set([...this.init.filteredQueryParams, ...request.filteredQueryParams])]
    const taskId = taskIdFor({
      url: request.url,
      tag: request.tag,
      application: request.application,
      pieceLengthBytes: request.pieceLengthBytes,
      filteredQueryParams,
    })
    return { taskId, filteredUrl: filterUrl(new URL(request.url), filteredQueryParams), filteredQueryParams }
  }

  /**
   * Starts the request's download, or joins the one already running for its task. An OCI blob
   * asked for by a client of this host is neither started nor joined (nor read from the store)
   * before its registry has accepted the client's credentials for it.
   */
  download(request: DownloadRequest): TaskHandle {
    if (this.stopping) throw new DamselflyError('SHUTTING_DOWN', 'the daemon is stopping')
    const identity = this.identify(request)
    const { taskId } = identity
    // A seed task was checked by the daemon that asked for it; the seed fetches with those same credentials.
    const allowed = this.access === undefined || request.onBehalfOf === 'other-host' ? Promise.resolve() : this.access.check(request, this.shutdown.signal)
    const shared = allowed.then(() => this.shared(request, identity))
    shared.catch(() => undefined)
    const { store } = this.components
    // The download records the digest its own request carried; a joiner, or a request for a task
    // stored earlier, is checked here against the stored bytes (a no-op when already verified).
    const done = shared.then((download) => download.done).then(async (task) => {
      if (request.digest !== undefined) await verifyContentDigest(store, task, request.digest, this.shutdown.signal)
      return task
    })
    done.catch(() => undefined)
    // A refusal reaches the caller through `done` as well; nobody need await the descriptor.
    const descriptor = shared.then((download) => download.descriptor)
    descriptor.catch(() => undefined)
    return {
      taskId,
      descriptor,
      done,
      send: (start, endInclusive, sink, signal) => {
        // A whole-content send of content with a known digest holds its last piece until the digest is checked.
        const verified = request.digest === undefined || start !== 0 ? undefined : done
        return this.sendRange(shared, taskId, { start, endInclusive, verified }, sink, signal)
      },
    }
  }

  /** The task's running download, or a new one. */
  private shared(request: DownloadRequest, identity: { taskId: TaskId; filteredUrl: string; filteredQueryParams: readonly string[] }): TaskDownload {
    if (this.stopping) throw new DamselflyError('SHUTTING_DOWN', 'the daemon is stopping')
    const { taskId } = identity
    const running = this.active.get(taskId)
    if (running !== undefined) return running
    const started = new TaskDownload(this.components, {
      ...identity,
      request,
      concurrentPieceCount: this.init.concurrentPieceCount,
      retryCount: this.init.retryCount,
    })
    this.active.set(taskId, started)
    const forget = (): void => {
      if (this.active.get(taskId) === started) this.active.delete(taskId)
    }
    started.done.then(forget, forget)
    return started
  }

  private async sendRange(
    shared: Promise<TaskDownload>,
    taskId: TaskId,
    range: { start: number; endInclusive: number | undefined; verified: Promise<unknown> | undefined },
    sink: RangeSink,
    signal: AbortSignal,
  ): Promise<void> {
    const download = await shared
    const epoch = download.epoch
    const descriptor = await download.descriptor
    const stale = (): void => {
      if (download.epoch !== epoch) throw new DamselflyError('DIGEST_MISMATCH', `task ${taskId} failed its digest after this response began and is being fetched again; ask again`, { details: { taskId } })
    }
    stale()
    const task = this.components.store.get(taskId)
    if (task === undefined) throw new DamselflyError('TASK_NOT_FOUND', `task ${taskId} vanished from the store`)
    const release = task.acquire()
    // The download fetches from where this reader is first, so it streams while pieces land.
    const head = download.signals.reader()
    // No byte of discarded content goes out once the discard is known.
    const send: RangeSink = (chunk) => {
      stale()
      return sink(chunk)
    }
    try {
      const pieceLength = descriptor.pieceLengthBytes
      const known = descriptor.contentLengthBytes
      const end = known === undefined ? range.endInclusive : Math.min(range.endInclusive ?? known - 1, known - 1)
      // With no length the last piece is unknown until the end: nothing goes out before the digest is checked.
      if (range.verified !== undefined && known === undefined) await range.verified
      const wholeContent = range.verified !== undefined && known !== undefined && known > 0 && end === known - 1
      const heldPiece = wholeContent ? pieceCount(known, pieceLength) - 1 : undefined
      let position = range.start
      while (end === undefined || position <= end) {
        const first = Math.floor(position / pieceLength)
        head.at(first)
        if (first === heldPiece) {
          // A client never receives the whole of content that fails its digest.
          await range.verified
          stale()
        }
        const ready = await download.signals.wait(first, signal, () => task.piece(first) !== undefined)
        stale()
        if (!ready) break
        // Send the whole run of pieces already stored in one read.
        let last = first
        while ((end === undefined || (last + 1) * pieceLength <= end) && (heldPiece === undefined || last + 1 < heldPiece) && task.piece(last + 1) !== undefined) last++
        const lastPiece = task.piece(last)
        if (lastPiece === undefined) break
        const runEnd = Math.min(end ?? Number.MAX_SAFE_INTEGER, lastPiece.offset + lastPiece.length - 1)
        if (runEnd < position) break
        await task.sendRange(position, runEnd, send, signal)
        position = runEnd + 1
        task.touch()
      }
    } finally {
      head.release()
      release()
    }
  }
}
