import { DamselflyError } from '../../protocol/damselfly-error.js'
import { pieceLengthFor, UNKNOWN_LENGTH_PIECE_LENGTH_BYTES } from '../../protocol/piece.js'
import type { SourceStat } from '../../source/source.js'
import type { StoredTask, TaskDescriptor } from '../../storage/content-store.js'
import type { DownloadPhase, PhaseContext, PhaseOutcome } from './download-phase.js'
import { SourceFetcher } from './source-fetcher.js'

function sameContent(descriptor: TaskDescriptor, stat: SourceStat): boolean {
  if (descriptor.contentLengthBytes === undefined || stat.contentLengthBytes !== descriptor.contentLengthBytes) return false
  if (descriptor.etag !== undefined && stat.etag !== undefined && descriptor.etag !== stat.etag) return false
  if (descriptor.lastModified !== undefined && stat.lastModified !== undefined && descriptor.lastModified !== stat.lastModified) return false
  return true
}

/**
 * The missing pieces from the source (source-fetcher.ts), keeping those already stored when they
 * belong to the same content (same length and validators), reported to the scheduler when one
 * took the task so it can vouch for them.
 */
export class SourcePhase implements DownloadPhase {
  /** The length of content that announced none, once read. */
  streamedBytes = 0

  constructor(private readonly context: PhaseContext) {}

  async run(partial: StoredTask | undefined): Promise<PhaseOutcome> {
    const { components, init, log, signals, signal } = this.context
    const { request, taskId } = init
    if (request.disableBackToSource) {
      throw new DamselflyError('BACK_TO_SOURCE_DISABLED', `task ${taskId} is not on this host, no peer has it, and back-to-source is disabled`, { details: { taskId } })
    }
    const url = new URL(request.url)
    const sources = request.onBehalfOf === 'other-host' ? components.sourcesForOtherHosts : components.sources
    if (sources === undefined) throw new DamselflyError('SOURCE_NOT_ALLOWED', `this daemon has no source for downloads on behalf of other hosts (task ${taskId})`, { details: { taskId } })
    const fetcher = new SourceFetcher(
      {
        source: sources.forUrl(url),
        limiters: { ...components.limiters, task: request.rateLimiter },
        sourceSlots: components.sourceSlots,
        ensureSpace: components.ensureSpace,
        signals,
        metrics: components.metrics,
        logger: log,
        clock: components.clock,
        report: (piece, costMs, content) => this.context.session?.reportPiece({ piece, parentPeerId: undefined, costMs, content }),
      },
      { url, headers: request.headers, concurrentPieceCount: init.concurrentPieceCount, retryCount: init.retryCount, signal },
    )
    const stat = await fetcher.stat()
    const task = await this.prepare(partial, stat)
    this.context.hold(task)
    this.context.publishDescriptor(task.descriptor)
    const length = task.descriptor.contentLengthBytes
    this.context.session?.backToSourceStarted({ contentLengthBytes: length, pieceLengthBytes: task.descriptor.pieceLengthBytes })
    if (length === undefined) {
      await fetcher.fetchWhole(task)
      this.streamedBytes = fetcher.streamedBytes
    } else if (length > 0) {
      await fetcher.fetchPieces(task, length, stat.rangeSupported)
    }
    return { complete: true, task, from: 'back_to_source' }
  }

  /** Reuses stored pieces when they belong to the same content, otherwise starts over. */
  private async prepare(existing: StoredTask | undefined, stat: SourceStat): Promise<StoredTask> {
    const { components, init, log } = this.context
    if (existing !== undefined && sameContent(existing.descriptor, stat)) {
      const storedBytes = [...existing.pieces()].reduce((sum, piece) => sum + piece.length, 0)
      await components.ensureSpace((stat.contentLengthBytes ?? 0) - storedBytes)
      log.info({ finishedPieces: existing.finishedPieceCount }, 'resuming task')
      return existing
    }
    if (existing !== undefined) await components.store.delete(init.taskId, { force: true })
    const length = stat.contentLengthBytes
    return this.context.createTask({
      contentLengthBytes: length,
      pieceLengthBytes: init.request.pieceLengthBytes ?? (length === undefined ? UNKNOWN_LENGTH_PIECE_LENGTH_BYTES : pieceLengthFor(length)),
      etag: stat.etag,
      lastModified: stat.lastModified,
      contentType: stat.contentType,
    })
  }
}
