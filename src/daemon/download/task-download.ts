import { setMaxListeners } from 'node:events'
import type { Clock } from '../../common/clock.js'
import type { Logger } from '../../common/logger.js'
import type { TokenBucket } from '../../common/token-bucket.js'
import { DamselflyError, toDamselflyError } from '../../protocol/damselfly-error.js'
import type { HostId, TaskId } from '../../protocol/ids.js'
import { pieceLengthFor, UNKNOWN_LENGTH_PIECE_LENGTH_BYTES } from '../../protocol/piece.js'
import { SCHEDULER_PROTOCOL_REVISION } from '../../protocol/scheduler-protocol.js'
import type { SourceStat } from '../../source/source.js'
import type { SourceRegistry } from '../../source/source-registry.js'
import type { ContentStore, StoredTask, TaskDescriptor } from '../../storage/content-store.js'
import { writeWholePiece } from '../../storage/piece-writer.js'
import type { LocalIdentity } from '../../security/local-identity.js'
import type { DaemonMetrics } from '../daemon-metrics.js'
import { newPeerId, SESSION_CLOSED, type PeerSession } from '../scheduler-client/peer-session.js'
import type { SchedulerAnswer } from '../scheduler-client/scheduler-answers.js'
import type { SchedulerPool } from '../scheduler-client/scheduler-pool.js'
import { contentDigestOf, verifyContentDigest } from './content-digest.js'
import type { DownloadRequest } from './download-request.js'
import { ParentDownload } from './parent-download.js'
import type { PieceClient } from './piece-client.js'
import { relayedSourceFailure } from './relayed-source-failure.js'
import { PieceSignals } from './piece-signals.js'
import { SourceFetcher } from './source-fetcher.js'

export interface TaskDownloadComponents {
  readonly store: ContentStore
  readonly sources: SourceRegistry
  /** Sources bound by the address policy, for downloads on behalf of other hosts; absent, those fail with SOURCE_NOT_ALLOWED. */
  readonly sourcesForOtherHosts?: SourceRegistry | undefined
  /** Host-wide buckets: every received byte takes from `download`, origin bytes also from `source`. */
  readonly limiters: { readonly download: TokenBucket; readonly source: TokenBucket }
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

/** What peers gave: the whole task, or a task (maybe with some pieces) the source must finish. */
type PeerOutcome = { readonly complete: true; readonly task: StoredTask } | { readonly complete: false; readonly task: StoredTask | undefined }

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

function sameContent(descriptor: TaskDescriptor, stat: SourceStat): boolean {
  if (descriptor.contentLengthBytes === undefined || stat.contentLengthBytes !== descriptor.contentLengthBytes) return false
  if (descriptor.etag !== undefined && stat.etag !== undefined && descriptor.etag !== stat.etag) return false
  if (descriptor.lastModified !== undefined && stat.lastModified !== undefined && descriptor.lastModified !== stat.lastModified) return false
  return true
}

/**
 * One task's download into the store: from the parents a scheduler offers when there is one,
 * the rest from the source (source-fetcher.ts); readers are told as each piece lands. Pieces
 * already stored (after a crash) are not fetched again. Several clients share one TaskDownload.
 */
export class TaskDownload {
  readonly signals = new PieceSignals()
  private readonly controller = new AbortController()
  private readonly log: Logger
  private resolveDescriptor!: (descriptor: TaskDescriptor) => void
  private rejectDescriptor!: (error: Error) => void
  private descriptorPromise: Promise<TaskDescriptor>
  private donePromise: Promise<StoredTask> | undefined
  /** The scheduler stream of this peer, when a scheduler took the task. */
  private session: PeerSession | undefined
  private readonly releases: Array<() => void> = []
  /** The length of content that announced none, once read. */
  private streamedBytes = 0
  /** Pieces stored from parents: when the whole content then fails its digest, the scheduler's digests were wrong. */
  private piecesFromPeers = 0
  private epochValue = 0

  constructor(
    private readonly components: TaskDownloadComponents,
    private readonly init: TaskDownloadInit,
  ) {
    this.log = components.logger.child({ taskId: init.taskId })
    // Every piece request and scheduler wait listens on this one signal.
    setMaxListeners(0, this.controller.signal)
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
        const failure = toDamselflyError(error)
        this.rejectDescriptor(failure)
        this.signals.fail(failure)
        throw failure
      },
    )
    return this.donePromise
  }

  /** Aborts the download and waits until no piece is in flight. */
  async stop(): Promise<void> {
    this.controller.abort(new DamselflyError('SHUTTING_DOWN', 'the daemon is stopping'))
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
      let { task, from } = await this.fetchContent(existing)
      let finishedLength = task.descriptor.contentLengthBytes ?? this.streamedBytes
      if (request.digest !== undefined && this.piecesFromPeers > 0) {
        const actual = await contentDigestOf(task, request.digest, finishedLength, this.controller.signal)
        if (actual !== request.digest) {
          // Every piece matched the scheduler's digests, so those digests were wrong: report them and fetch from the source.
          this.log.warn({ expected: request.digest, actual, piecesFromPeers: this.piecesFromPeers }, 'content from peers failed its digest; fetching it from the source')
          this.session?.contentDigestMismatch({ expected: request.digest, actual })
          await this.discard()
          ;({ task, from } = await this.fetchFromSource(undefined))
          finishedLength = task.descriptor.contentLengthBytes ?? this.streamedBytes
        }
      }
      if (request.digest !== undefined) await verifyContentDigest(store, task, request.digest, this.controller.signal, finishedLength)
      await task.finish({
        contentLengthBytes: finishedLength,
        ...(request.digest === undefined ? {} : { verifiedDigest: request.digest }),
      })
      this.session?.peerFinished({ contentLengthBytes: finishedLength, pieceCount: task.finishedPieceCount })
      const costMs = this.components.clock.nowMs() - startedMs
      this.components.metrics.taskDurationSeconds.observe(costMs / 1000)
      this.log.info({ url: task.descriptor.url, contentLength: finishedLength, pieces: task.finishedPieceCount, costMs, from }, 'task done')
      return task
    } catch (error) {
      const failure = toDamselflyError(error)
      this.session?.peerFailed(failure)
      // Pieces that filled the disk would keep it full for the rest of the host.
      if (failure.code === 'NO_SPACE' && store.get(taskId)?.complete === false) {
        await store.delete(taskId, { force: true }).then(
          () => this.log.info('removed the partial task: the disk is full'),
          (deleteError: unknown) => this.log.warn({ err: deleteError }, 'removing the partial task of a full disk failed'),
        )
      }
      throw error
    } finally {
      this.session?.close()
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
  }

  /** Throws away what is stored; readers that began before fail, later ones wait for the new pieces. */
  private async discard(): Promise<void> {
    this.epochValue++
    this.signals.reset()
    this.piecesFromPeers = 0
    for (const release of this.releases.splice(0)) release()
    await this.components.store.delete(this.init.taskId, { force: true })
  }

  /** Every piece into the store: from peers when a scheduler offers parents, the rest from the source. */
  private async fetchContent(existing: StoredTask | undefined): Promise<{ task: StoredTask; from: 'remote_peer' | 'back_to_source' }> {
    let partial = existing
    if (this.components.peers?.pool.enabled) {
      const viaPeers = await this.fetchFromPeers(this.components.peers, existing)
      if (viaPeers.complete) return { task: viaPeers.task, from: 'remote_peer' }
      partial = viaPeers.task ?? existing
    }
    return this.fetchFromSource(partial)
  }

  /** The missing pieces from the source, keeping those of `partial` when they belong to the same content. */
  private async fetchFromSource(partial: StoredTask | undefined): Promise<{ task: StoredTask; from: 'back_to_source' }> {
    const { request, taskId } = this.init
    if (request.disableBackToSource) {
      throw new DamselflyError('BACK_TO_SOURCE_DISABLED', `task ${taskId} is not on this host, no peer has it, and back-to-source is disabled`, { details: { taskId } })
    }
    const url = new URL(request.url)
    const sources = request.onBehalfOf === 'other-host' ? this.components.sourcesForOtherHosts : this.components.sources
    if (sources === undefined) throw new DamselflyError('SOURCE_NOT_ALLOWED', `this daemon has no source for downloads on behalf of other hosts (task ${taskId})`, { details: { taskId } })
    const fetcher = new SourceFetcher(
      {
        source: sources.forUrl(url),
        limiters: this.components.limiters,
        ensureSpace: this.components.ensureSpace,
        signals: this.signals,
        metrics: this.components.metrics,
        logger: this.log,
        clock: this.components.clock,
        report: (piece, costMs, content) => this.session?.reportPiece({ piece, parentPeerId: undefined, costMs, content }),
      },
      { url, headers: request.headers, concurrentPieceCount: this.init.concurrentPieceCount, retryCount: this.init.retryCount, signal: this.controller.signal },
    )
    const stat = await fetcher.stat()
    const task = await this.prepare(partial, stat)
    this.releases.push(task.acquire())
    this.publishDescriptor(task.descriptor)
    const length = task.descriptor.contentLengthBytes
    this.session?.backToSourceStarted({ contentLengthBytes: length, pieceLengthBytes: task.descriptor.pieceLengthBytes })
    if (length === undefined) {
      await fetcher.fetchWhole(task)
      this.streamedBytes = fetcher.streamedBytes
    } else if (length > 0) {
      await fetcher.fetchPieces(task, length, stat.rangeSupported)
    }
    return { task, from: 'back_to_source' }
  }

  /**
   * Registers with the scheduler that owns the task (rendezvous hashing; a scheduler that does
   * not answer is passed over), or first with the one that sent a seed task, and downloads from
   * the parents it offers. Returns the task with
   * what peers gave; `complete` when nothing is left for the source.
   */
  private async fetchFromPeers(peers: PeerComponents, existing: StoredTask | undefined): Promise<PeerOutcome> {
    const { taskId, request } = this.init
    const signal = this.controller.signal
    const exclude = new Set<string>()
    for (;;) {
      const asked = request.scheduler !== undefined && !exclude.has(request.scheduler) && peers.pool.addresses.includes(request.scheduler)
      const address = asked ? request.scheduler : peers.pool.pick(taskId, exclude)
      if (address === undefined) return { complete: false, task: existing }
      const hostId = peers.hostId()
      const session = peers.pool.openPeerSession(address, { hostId, taskId, peerId: newPeerId(hostId) }, this.log)
      session.register({
        download: { ...request, filteredQueryParams: this.init.filteredQueryParams },
        heldPieces: existing === undefined ? [] : [...existing.pieces()],
        contentLengthBytes: existing?.descriptor.contentLengthBytes,
      })
      const first = await this.decision(session, peers.pool, signal)
      if (first === 'scheduler-down') {
        session.close()
        peers.pool.markDown(address)
        exclude.add(address)
        continue
      }
      if (first === 'no-decision') {
        session.close()
        return { complete: false, task: existing }
      }
      this.session = session
      switch (first.kind) {
        case 'source-failed': {
          const failure = relayedSourceFailure(first, { url: request.url, digest: request.digest, taskId })
          if (failure !== undefined) throw failure
          this.log.warn({ code: first.code.slice(0, 100) }, 'the scheduler relayed a failure this daemon does not know; going back to source')
          return { complete: false, task: existing }
        }
        case 'empty-task': {
          const task = await this.createTask(0, this.init.request.pieceLengthBytes ?? UNKNOWN_LENGTH_PIECE_LENGTH_BYTES)
          this.resolveDescriptor(task.descriptor)
          return { complete: true, task }
        }
        case 'tiny-task': {
          const { content } = first
          const task = await this.createTask(content.length, this.init.request.pieceLengthBytes ?? UNKNOWN_LENGTH_PIECE_LENGTH_BYTES)
          if (content.length > 0) await writeWholePiece(task, 0, [content])
          this.resolveDescriptor(task.descriptor)
          this.signals.ready(0)
          return { complete: true, task }
        }
        case 'schedule-failed':
          throw new DamselflyError('SCHEDULE_FAILED', `the scheduler found no parent for task ${taskId}: ${first.reason}`, { details: { taskId } })
        case 'parents': {
          const lengths = first.task
          if (lengths === undefined) return { complete: false, task: existing }
          const reusable = existing !== undefined && existing.descriptor.contentLengthBytes === lengths.contentLengthBytes && existing.descriptor.pieceLengthBytes === lengths.pieceLengthBytes
          const task = reusable ? existing : await this.createTask(lengths.contentLengthBytes, lengths.pieceLengthBytes)
          this.releases.push(task.acquire())
          this.resolveDescriptor(task.descriptor)
          const parents = new ParentDownload(
            { pieces: peers.pieces, limiter: this.components.limiters.download, signals: this.signals, metrics: this.components.metrics, logger: this.log, clock: this.components.clock },
            { task, session, concurrentPieceCount: this.init.concurrentPieceCount, signingKey: peers.identity?.privateKey, asked: { url: request.url, digest: request.digest, taskId } },
          )
          const outcome = await parents.run(first, signal).finally(() => {
            this.piecesFromPeers += parents.storedPieceCount
          })
          return outcome === 'done' ? { complete: true, task } : { complete: false, task }
        }
        default:
          return { complete: false, task: existing }
      }
    }
  }

  /**
   * The scheduler's decision for a registration. A scheduler that does not take the registration
   * within `registerTimeoutMs` (it is blackholed, stopped, or gone), or whose stream ends before
   * it decides, is `scheduler-down`; one that took it but has not decided within
   * `scheduleTimeoutMs` (a seed peer still fetching, say) leaves the task to the source.
   */
  private async decision(session: PeerSession, pool: SchedulerPool, signal: AbortSignal): Promise<SchedulerAnswer | 'scheduler-down' | 'no-decision'> {
    const { registerTimeoutMs, scheduleTimeoutMs } = pool.waits
    const answer = await session.next(signal, registerTimeoutMs)
    if (answer === SESSION_CLOSED || answer === undefined) {
      this.log.warn({ scheduler: session.address, registerTimeoutMs, closed: answer === SESSION_CLOSED }, 'scheduler did not take the registration; trying another')
      return 'scheduler-down'
    }
    pool.markUp(session.address)
    if (answer.kind !== 'registered') return answer
    if (answer.protocolRevision < SCHEDULER_PROTOCOL_REVISION) {
      session.close()
      this.log.warn({ scheduler: session.address, revision: answer.protocolRevision, ours: SCHEDULER_PROTOCOL_REVISION }, 'the scheduler speaks an older protocol; trying another')
      return 'scheduler-down'
    }
    const decided = await session.next(signal, scheduleTimeoutMs)
    if (decided === SESSION_CLOSED) {
      this.log.warn({ scheduler: session.address }, 'lost the scheduler before its decision; trying another')
      return 'scheduler-down'
    }
    if (decided === undefined) {
      this.log.warn({ scheduler: session.address, scheduleTimeoutMs }, 'the scheduler decided nothing in time; going back to source')
      return 'no-decision'
    }
    return decided
  }

  private async createTask(contentLengthBytes: number, pieceLengthBytes: number): Promise<StoredTask> {
    await this.components.ensureSpace(contentLengthBytes)
    return this.components.store.create({
      taskId: this.init.taskId,
      url: this.init.filteredUrl,
      contentLengthBytes,
      pieceLengthBytes,
      tag: this.init.request.tag,
      application: this.init.request.application,
      createdAtMs: this.components.clock.nowMs(),
    })
  }

  /** Reuses stored pieces when they belong to the same content, otherwise starts over. */
  private async prepare(existing: StoredTask | undefined, stat: SourceStat): Promise<StoredTask> {
    const { store, ensureSpace } = this.components
    if (existing !== undefined && sameContent(existing.descriptor, stat)) {
      const storedBytes = [...existing.pieces()].reduce((sum, piece) => sum + piece.length, 0)
      await ensureSpace((stat.contentLengthBytes ?? 0) - storedBytes)
      this.log.info({ finishedPieces: existing.finishedPieceCount }, 'resuming task')
      return existing
    }
    if (existing !== undefined) await store.delete(this.init.taskId, { force: true })
    const length = stat.contentLengthBytes
    await ensureSpace(length ?? 0)
    return store.create({
      taskId: this.init.taskId,
      url: this.init.filteredUrl,
      contentLengthBytes: length,
      pieceLengthBytes: this.init.request.pieceLengthBytes ?? (length === undefined ? UNKNOWN_LENGTH_PIECE_LENGTH_BYTES : pieceLengthFor(length)),
      etag: stat.etag,
      lastModified: stat.lastModified,
      contentType: stat.contentType,
      tag: this.init.request.tag,
      application: this.init.request.application,
      createdAtMs: this.components.clock.nowMs(),
    })
  }
}
