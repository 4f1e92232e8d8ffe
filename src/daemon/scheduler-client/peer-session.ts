import { randomUUID } from 'node:crypto'
import type { ClientDuplexStream } from '@grpc/grpc-js'
import type { Clock } from '../../common/clock.js'
import type { Logger } from '../../common/logger.js'
import type { DamselflyError } from '../../protocol/damselfly-error.js'
import type {
  AnnouncePeerRequest, AnnouncePeerResponse, Download, PieceFinished,
} from '../../protocol/generated/damselfly/scheduler/v1/scheduler.js'
import type { HostId, PeerId, TaskId } from '../../protocol/ids.js'
import { SCHEDULER_PROTOCOL_REVISION } from '../../protocol/scheduler-protocol.js'
import type { PieceRecord } from '../../storage/content-store.js'
import { ReportBatcher, type ReportBatching } from './report-batcher.js'
import { parseSchedulerAnswer, type SchedulerAnswer } from './scheduler-answers.js'

type PeerRequest = NonNullable<AnnouncePeerRequest['request']>

/** The scheduler's stream ended: it died, or restarted, or the network failed, or it sent what this daemon cannot read. */
export const SESSION_CLOSED = Symbol('session closed')

/** A new peer of this host: one download of one task, named apart from every other. */
export function newPeerId(hostId: HostId): PeerId {
  return `${hostId.slice(0, 12)}-${randomUUID()}` as PeerId
}

/** What a client asked for, as the scheduler hears it; a seed peer asked to fetch the task gets the same. */
export interface DownloadAsked {
  readonly url: string
  /** Sent to the origin on back-to-source, by this peer or by a seed peer asked to fetch it. */
  readonly headers: Readonly<Record<string, string>>
  readonly tag?: string | undefined
  readonly application?: string | undefined
  /** Every query key left out of the task id: the scheduler recomputes the id from them. */
  readonly filteredQueryParams: readonly string[]
  readonly pieceLengthBytes?: number | undefined
  readonly priority: number
  readonly digest?: string | undefined
  readonly disableBackToSource: boolean
}

/** A piece this peer stored, to report. */
export interface PieceReport {
  readonly piece: PieceRecord
  /** The parent it came from; undefined for the source. */
  readonly parentPeerId: PeerId | undefined
  readonly costMs: number
  /** The bytes of a tiny task fetched from the source: the scheduler answers later peers with them. */
  readonly content?: Buffer | undefined
}

/** The request as the scheduler's protocol carries it. */
function toDownload(download: DownloadAsked): Download {
  return {
    url: download.url,
    headers: { ...download.headers },
    tag: download.tag ?? '',
    application: download.application ?? '',
    filteredQueryParams: [...download.filteredQueryParams],
    pieceLength: download.pieceLengthBytes ?? 0,
    priority: download.priority,
    digest: download.digest ?? '',
    disableBackToSource: download.disableBackToSource,
  }
}

const NO_CONTENT = Buffer.alloc(0)

function toPieceFinished(report: PieceReport): PieceFinished {
  const { number, offset, length, digest } = report.piece
  return { piece: { number, offset, length, digest }, parentPeerId: report.parentPeerId ?? '', costMs: report.costMs, content: report.content ?? NO_CONTENT }
}

/**
 * One peer's AnnouncePeer stream with its scheduler, in the download's terms: requests go out
 * as the download progresses, answers are checked once (scheduler-answers.ts) and read in order
 * with {@link PeerSession.next}. Finished pieces are reported in batches (`pieces_finished`); a
 * batch waiting goes out before any other request and before the stream ends, so the scheduler
 * sees every report, in order, before the peer finishes or fails.
 */
export class PeerSession {
  readonly address: string
  private readonly queue: SchedulerAnswer[] = []
  private readonly reports: ReportBatcher<PieceReport>
  private waiter: (() => void) | undefined
  private ended = false

  constructor(
    private readonly components: {
      readonly stream: ClientDuplexStream<AnnouncePeerRequest, AnnouncePeerResponse>
      readonly clock: Clock
      readonly logger: Logger
    },
    private readonly init: {
      /** The scheduler's `host:port`. */
      readonly address: string
      readonly ids: { readonly hostId: HostId; readonly taskId: TaskId; readonly peerId: PeerId }
      readonly reportBatching: ReportBatching
    },
  ) {
    const { stream, logger } = components
    const address = init.address
    this.address = address
    this.reports = new ReportBatcher(
      {
        clock: components.clock,
        send: (reports) => {
          this.write({ $case: 'piecesFinished', value: { pieces: reports.map(toPieceFinished) } })
        },
      },
      init.reportBatching,
    )
    stream.on('data', (message: AnnouncePeerResponse) => {
      if (this.ended) return
      try {
        const answer = parseSchedulerAnswer(message)
        if (answer !== undefined) this.queue.push(answer)
      } catch (error) {
        // A scheduler that sends what cannot be checked is not listened to any more: the download goes on without it.
        logger.warn({ scheduler: address, err: error }, 'the scheduler sent a malformed answer; leaving it')
        this.ended = true
        stream.cancel()
      }
      this.wake()
    })
    const end = (error?: Error): void => {
      if (!this.ended && error !== undefined) logger.warn({ scheduler: address, err: error }, 'scheduler stream failed')
      this.ended = true
      this.wake()
    }
    stream.on('error', end)
    stream.on('end', () => {
      end()
    })
  }

  get closed(): boolean {
    return this.ended
  }

  get peerId(): PeerId {
    return this.init.ids.peerId
  }

  /** The first message: what this peer downloads, and what it already holds (a resumed task), so it can be a parent at once. */
  register(registration: { download: DownloadAsked; heldPieces: readonly PieceRecord[]; contentLengthBytes: number | undefined }): void {
    const { download, heldPieces, contentLengthBytes } = registration
    this.send({
      $case: 'register',
      value: {
        download: toDownload(download),
        pieces: heldPieces.map(({ number, offset, length, digest }) => ({ number, offset, length, digest })),
        contentLength: contentLengthBytes ?? 0,
        contentLengthKnown: contentLengthBytes !== undefined,
        protocolRevision: SCHEDULER_PROTOCOL_REVISION,
      },
    })
  }

  backToSourceStarted(started: { contentLengthBytes: number | undefined; pieceLengthBytes: number }): void {
    this.send({
      $case: 'backToSourceStarted',
      value: { contentLength: started.contentLengthBytes ?? 0, contentLengthKnown: started.contentLengthBytes !== undefined, pieceLength: started.pieceLengthBytes },
    })
  }

  /** Reports a stored piece with the next batch. */
  reportPiece(report: PieceReport): void {
    if (this.ended) return
    this.reports.add(report)
  }

  /** A parent failed to deliver a piece; `badContent` when what it sent failed the scheduler's digest. */
  pieceFailed(failed: { number: number; parentPeerId: PeerId; badContent: boolean; reason: string }): void {
    this.send({ $case: 'pieceFailed', value: failed })
  }

  /** Asks for other parents; those in `blocklist` failed this peer and are never offered to it again. */
  reschedule(blocklist: Iterable<PeerId>, reason: string): void {
    this.send({ $case: 'reschedule', value: { blocklist: [...blocklist], reason } })
  }

  peerFinished(finished: { contentLengthBytes: number; pieceCount: number }): void {
    this.send({ $case: 'peerFinished', value: { contentLength: finished.contentLengthBytes, pieceCount: finished.pieceCount } })
  }

  peerFailed(failure: DamselflyError): void {
    this.send({ $case: 'peerFailed', value: { reason: failure.message, code: failure.code, sourceStatus: failure.details.sourceStatus ?? 0 } })
  }

  /** The content, every piece of which matched the scheduler's digests, failed its expected digest: those digests are wrong. */
  contentDigestMismatch(mismatch: { expected: string; actual: string }): void {
    this.send({ $case: 'contentDigestMismatch', value: mismatch })
  }

  /** The next answer; SESSION_CLOSED once the stream ended; undefined when `timeoutMs` passed first. */
  async next(signal: AbortSignal, timeoutMs: number): Promise<SchedulerAnswer | typeof SESSION_CLOSED | undefined> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const answer = this.queue.shift()
      if (answer !== undefined) return answer
      if (this.ended) return SESSION_CLOSED
      if (signal.aborted) throw signal.reason as Error
      const remaining = deadline - Date.now()
      if (remaining <= 0) return undefined
      await new Promise<void>((resolve) => {
        const timer = setTimeout(finish, remaining)
        const onAbort = (): void => {
          finish()
        }
        function finish(): void {
          clearTimeout(timer)
          signal.removeEventListener('abort', onAbort)
          resolve()
        }
        this.waiter = finish
        signal.addEventListener('abort', onAbort, { once: true })
      })
    }
  }

  /** Reports what is waiting and ends the stream from this side; the scheduler keeps a finished peer as a parent. */
  close(): void {
    if (this.ended) return
    this.reports.flush()
    this.ended = true
    this.components.stream.end()
  }

  /** Sends `request` after any finished pieces waiting to be reported. */
  private send(request: PeerRequest): void {
    this.reports.flush()
    this.write(request)
  }

  private write(request: PeerRequest): void {
    if (this.ended) return
    this.components.stream.write({ ...this.init.ids, request })
  }

  private wake(): void {
    const waiter = this.waiter
    this.waiter = undefined
    waiter?.()
  }
}
