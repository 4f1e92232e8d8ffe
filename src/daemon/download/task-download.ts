import { setMaxListeners } from 'node:events'
import type { Clock } from '../../common/clock.js'
import type { Logger } from '../../common/logger.js'
import type { TokenBucket } from '../../common/token-bucket.js'
import { DamselflyError, toDamselflyError } from '../../protocol/damselfly-error.js'
import type { HostId, TaskId } from '../../protocol/ids.js'
import type { SourceRegistry } from '../../source/source-registry.js'
import type { ContentStore, StoredTask, TaskDescriptor } from '../../storage/content-store.js'
import type { LocalIdentity } from '../../security/local-identity.js'
import type { DaemonMetrics } from '../daemon-metrics.js'
import type { SchedulerPool } from '../scheduler-client/scheduler-pool.js'
import { contentDigestOf } from './content-digest.js'
import { ContentHasher } from './content-hasher.js'
import type { SourceSlots } from './source-slots.js'
import type { ContentOrigin, NewTaskFields, PhaseContext } from './download-phase.js'
import type { DownloadRequest } from './download-request.js'
import { PeerPhase } from './peer-phase.js'
import type { PieceClient } from './piece-client.js'
import { PieceSignals } from './piece-signals.js'
import { SourcePhase } from './source-phase.js'

export interface TaskDownloadComponents {
  readonly store: ContentStore
  readonly sources: SourceRegistry
  /** Sources bound by the address policy, for downloads on behalf of other hosts; absent, those fail with SOURCE_NOT_ALLOWED. */
  readonly sourcesForOtherHosts?: SourceRegistry | undefined
  /** Host-wide buckets: every received byte takes from `download`, origin bytes also from `source`. */
  readonly limiters: { readonly download: TokenBucket; readonly source: TokenBucket }
  /** Host-wide: ranged requests to origins at once, all downloads together. */
  readonly sourceSlots: SourceSlots
  /** Makes room for `neededBytes` on disk (evicting if it may) or fails with NO_SPACE. */
  readonly ensureSpace: (neededBytes: number) => Promise<void>
  readonly metrics: DaemonMetrics
  readonly logger: Logger
  readonly clock: Clock
  /** Present when the daemon knows schedulers: the task is then fetched from peers first. */
  readonly peers?: PeerComponents | undefined
}

export interface PeerComponents {
  readonly pool: SchedulerPool
  readonly hostId: () => HostId
  /** Keep-alive connections to parents' upload servers (TLS with this host's certificate). */
  readonly pieces: PieceClient
  /** This host's identity: it signs requests to parents that serve without TLS. Undefined with --insecure. */
  readonly identity?: LocalIdentity | undefined
}

export interface TaskDownloadInit {
  readonly taskId: TaskId
  readonly request: DownloadRequest
  /** The URL without filtered query parameters, recorded in the descriptor. */
  readonly filteredUrl: string
  /** Every query key left out of the task id (the daemon's and the request's): the scheduler recomputes the id from them. */
  readonly filteredQueryParams: readonly string[]
  readonly concurrentPieceCount: number
  /** Extra attempts for a piece after a transient origin failure. */
  readonly retryCount: number
}

/**
 * One task's download into the store, in phases behind one interface (download-phase.ts): from
 * the parents a scheduler offers when there is one (peer-phase.ts), the rest from the source
 * (source-phase.ts). It checks the whole content's digest, finishes the task and tells the
 * scheduler; readers are told as each piece lands. Pieces already stored (after a crash) are not
 * fetched again. Several clients share one TaskDownload.
 */
export class TaskDownload {
  readonly signals = new PieceSignals()
  private readonly controller = new AbortController()
  private readonly log: Logger
  private resolveDescriptor!: (descriptor: TaskDescriptor) => void
  private rejectDescriptor!: (error: Error) => void
  private descriptorPromise: Promise<TaskDescriptor>
  private donePromise: Promise<StoredTask> | undefined
  private readonly releases: Array<() => void> = []
  /** What the phases share with this download. */
  private readonly context: PhaseContext
  private peerPhase: PeerPhase | undefined
  private epochValue = 0
  /** The request's digest over the content as its pieces land; undefined without a digest or a task. */
  private hasher: ContentHasher | undefined

  constructor(
    private readonly components: TaskDownloadComponents,
    private readonly init: TaskDownloadInit,
  ) {
    this.log = components.logger.child({ taskId: init.taskId })
    // Every piece request and scheduler wait listens on this one signal.
    setMaxListeners(0, this.controller.signal)
    this.context = {
      components,
      init,
      signals: this.signals,
      log: this.log,
      signal: this.controller.signal,
      session: undefined,
      publishDescriptor: (descriptor) => {
        this.publishDescriptor(descriptor)
      },
      hold: (task) => {
        this.releases.push(task.acquire())
      },
      createTask: (fields) => this.createTask(fields),
    }
    this.descriptorPromise = new Promise((resolve, reject) => {
      this.resolveDescriptor = resolve
      this.rejectDescriptor = reject
    })
    // A failure before the descriptor is known reaches readers through `done`; nobody may be
    // awaiting the descriptor yet, so its rejection must not count as unhandled.
    this.descriptorPromise.catch(() => undefined)
  }

  /** Starts the download once; resolves when content and piece length are known, so readers can start. */
  get descriptor(): Promise<TaskDescriptor> {
    this.done.catch(() => undefined)
    return this.descriptorPromise
  }

  /**
   * Changes when stored content is thrown away and fetched again (it failed its digest): a reader
   * that began before must stop, since what it sent belongs to the discarded content.
   */
  get epoch(): number {
    return this.epochValue
  }

  /** Starts the download once; resolves with the complete task, or rejects with a DamselflyError. */
  get done(): Promise<StoredTask> {
    this.donePromise ??= this.run().then(
      (task) => {
        this.signals.end(task.finishedPieceCount)
        return task
      },
      (error: unknown) => {
        // Aborted, a phase may fail with whatever the abort cut short: clients are told why it stopped.
        const failure = this.controller.signal.aborted ? toDamselflyError(this.controller.signal.reason) : toDamselflyError(error)
        this.rejectDescriptor(failure)
        this.signals.fail(failure)
        throw failure
      },
    )
    return this.donePromise
  }

  /** Aborts the download and waits until no piece is in flight. */
  stop(): Promise<void> {
    return this.abort(new DamselflyError('SHUTTING_DOWN', 'the daemon is stopping'))
  }

  /**
   * Fails the download with `reason` for every client of it, and waits until no piece is in
   * flight. A download that already settled keeps its outcome. Safe to repeat: the first reason wins.
   */
  async abort(reason: DamselflyError): Promise<void> {
    this.controller.abort(reason)
    await this.donePromise?.catch(() => undefined)
  }

  private async run(): Promise<StoredTask> {
    const { store } = this.components
    const { taskId, request } = this.init
    const startedMs = this.components.clock.nowMs()
    let existing = store.get(taskId)
    if (existing?.complete) {
      const problem = await this.storedProblem(existing)
      if (problem === undefined) {
        this.resolveDescriptor(existing.descriptor)
        return existing
      }
      this.log.warn({ problem }, 'stored content is not fit to serve; downloading it again')
      await store.delete(taskId, { force: true })
      existing = undefined
    }
    this.components.metrics.activeDownloads.inc()
    try {
      let { task, from, streamedBytes } = await this.fetchContent(existing)
      let finishedLength = task.descriptor.contentLengthBytes ?? streamedBytes
      if (request.digest !== undefined) {
        let actual = await this.contentDigest(task, request.digest, finishedLength)
        const piecesFromPeers = this.peerPhase?.storedPieceCount ?? 0
        if (actual !== request.digest && piecesFromPeers > 0) {
          // Every piece matched the scheduler's digests, so those digests were wrong: report them and fetch from the source.
          this.log.warn({ expected: request.digest, actual, piecesFromPeers }, 'content from peers failed its digest; fetching it from the source')
          this.context.session?.contentDigestMismatch({ expected: request.digest, actual })
          await this.discard()
          ;({ task, from, streamedBytes } = await this.fetchFromSource(undefined))
          finishedLength = task.descriptor.contentLengthBytes ?? streamedBytes
          actual = await this.contentDigest(task, request.digest, finishedLength)
        }
        if (actual !== request.digest) {
          await store.delete(taskId, { force: true })
          throw new DamselflyError('DIGEST_MISMATCH', `content digest is ${actual}, expected ${request.digest}; the content was removed`, { details: { taskId } })
        }
      }
      await task.finish({
        contentLengthBytes: finishedLength,
        ...(request.digest === undefined ? {} : { verifiedDigest: request.digest }),
      })
      this.context.session?.peerFinished({ contentLengthBytes: finishedLength, pieceCount: task.finishedPieceCount })
      const costMs = this.components.clock.nowMs() - startedMs
      this.components.metrics.taskDurationSeconds.observe(costMs / 1000)
      this.log.info({ url: task.descriptor.url, contentLength: finishedLength, pieces: task.finishedPieceCount, costMs, from }, 'task done')
      return task
    } catch (error) {
      const failure = toDamselflyError(error)
      this.context.session?.peerFailed(failure)
      // Pieces that filled the disk would keep it full for the rest of the host.
      if (failure.code === 'NO_SPACE' && store.get(taskId)?.complete === false) {
        await store.delete(taskId, { force: true }).then(
          () => this.log.info('removed the partial task: the disk is full'),
          (deleteError: unknown) => this.log.warn({ err: deleteError }, 'removing the partial task of a full disk failed'),
        )
      }
      throw error
    } finally {
      this.hasher?.stop()
      this.context.session?.close()
      this.components.metrics.activeDownloads.dec()
      for (const release of this.releases.splice(0)) release()
    }
  }

  /** Why a complete stored task must not be served as it is, or undefined when it may be. */
  private async storedProblem(task: StoredTask): Promise<string | undefined> {
    // Someone wrote to the stored file (a hard-linked dfget output, say): never serve it.
    if (!(await task.contentIntact())) return 'it was modified after it completed'
    const expected = this.init.request.digest
    if (expected === undefined || task.verifiedDigest === expected) return undefined
    const actual = await contentDigestOf(task, expected, task.descriptor.contentLengthBytes ?? 0, this.controller.signal)
    if (actual === expected) {
      await task.recordVerifiedDigest(expected)
      return undefined
    }
    return `its digest is ${actual}, the request expects ${expected}`
  }

  /** Tells readers what they read; after a discard, the content fetched anew. */
  private publishDescriptor(descriptor: TaskDescriptor): void {
    if (this.epochValue > 0) this.descriptorPromise = Promise.resolve(descriptor)
    this.resolveDescriptor(descriptor)
    this.followContent()
  }

  /**
   * Starts hashing the content as its pieces land, for the request's digest, or starts over when
   * the task in the store is not the one being hashed (the source phase replaced it).
   */
  private followContent(): void {
    const expected = this.init.request.digest
    const task = this.components.store.get(this.init.taskId)
    if (expected === undefined || task === undefined || this.hasher?.task === task) return
    this.hasher?.stop()
    this.hasher = new ContentHasher({ signals: this.signals }, { task, expected, signal: this.controller.signal })
  }

  /** The digest of the finished content, mostly hashed while it downloaded. */
  private contentDigest(task: StoredTask, expected: string, contentLengthBytes: number): Promise<string> {
    const hasher = this.hasher?.task === task ? this.hasher : undefined
    this.hasher = undefined
    return hasher === undefined ? contentDigestOf(task, expected, contentLengthBytes, this.controller.signal) : hasher.digest(contentLengthBytes)
  }

  /** Throws away what is stored; readers that began before fail, later ones wait for the new pieces. */
  private async discard(): Promise<void> {
    this.epochValue++
    this.hasher?.stop()
    this.hasher = undefined
    this.signals.reset()
    this.peerPhase = undefined
    for (const release of this.releases.splice(0)) release()
    await this.components.store.delete(this.init.taskId, { force: true })
  }

  /** Every piece into the store: from peers when a scheduler offers parents, the rest from the source. */
  private async fetchContent(existing: StoredTask | undefined): Promise<{ task: StoredTask; from: ContentOrigin; streamedBytes: number }> {
    let partial = existing
    const { peers } = this.components
    if (peers?.pool.enabled) {
      this.peerPhase = new PeerPhase(this.context, peers)
      const viaPeers = await this.peerPhase.run(existing)
      if (viaPeers.complete) return { task: viaPeers.task, from: viaPeers.from, streamedBytes: 0 }
      partial = viaPeers.task ?? existing
    }
    return this.fetchFromSource(partial)
  }

  private async fetchFromSource(partial: StoredTask | undefined): Promise<{ task: StoredTask; from: ContentOrigin; streamedBytes: number }> {
    const phase = new SourcePhase(this.context)
    const outcome = await phase.run(partial)
    if (!outcome.complete) throw new DamselflyError('INTERNAL', `the source phase of task ${this.init.taskId} ended without the content`)
    return { task: outcome.task, from: outcome.from, streamedBytes: phase.streamedBytes }
  }

  private async createTask(fields: NewTaskFields): Promise<StoredTask> {
    await this.components.ensureSpace(fields.contentLengthBytes ?? 0)
    return this.components.store.create({
      ...fields,
      taskId: this.init.taskId,
      url: this.init.filteredUrl,
      tag: this.init.request.tag,
      application: this.init.request.application,
      createdAtMs: this.components.clock.nowMs(),
    })
  }
}
