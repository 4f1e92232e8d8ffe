import type { ClientDuplexStream } from '@grpc/grpc-js'
import type { Clock } from '../../common/clock.js'
import type { Logger } from '../../common/logger.js'
import type {
  AnnouncePeerRequest, AnnouncePeerResponse, PieceFinished,
} from '../../protocol/generated/damselfly/scheduler/v1/scheduler.js'
import { ReportBatcher, type ReportBatching } from './report-batcher.js'

export type PeerRequest = NonNullable<AnnouncePeerRequest['request']>
export type PeerResponse = NonNullable<AnnouncePeerResponse['response']>

/** The scheduler's stream ended: it died, or restarted, or the network failed. */
export const SESSION_CLOSED = Symbol('session closed')

/**
 * One peer's AnnouncePeer stream with its scheduler: requests go out as the download progresses,
 * responses are read in order with {@link PeerSession.next}. Finished pieces are reported in
 * batches (`pieces_finished`); a batch waiting goes out before any other request and before the
 * stream ends, so the scheduler sees every report, in order, before the peer finishes or fails.
 */
export class PeerSession {
  readonly address: string
  private readonly queue: PeerResponse[] = []
  private readonly reports: ReportBatcher<PieceFinished>
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
      readonly ids: { readonly hostId: string; readonly taskId: string; readonly peerId: string }
      readonly reportBatching: ReportBatching
    },
  ) {
    const { stream, logger } = components
    const address = init.address
    this.address = address
    this.reports = new ReportBatcher(
      {
        clock: components.clock,
        send: (pieces) => {
          this.write({ $case: 'piecesFinished', value: { pieces } })
        },
      },
      init.reportBatching,
    )
    stream.on('data', (response: AnnouncePeerResponse) => {
      if (response.response !== undefined) this.queue.push(response.response)
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

  /** Sends `request` after any finished pieces waiting to be reported. */
  send(request: PeerRequest): void {
    this.reports.flush()
    this.write(request)
  }

  /** Reports a stored piece with the next batch. */
  reportPiece(finished: PieceFinished): void {
    if (this.ended) return
    this.reports.add(finished)
  }

  /** The next response; SESSION_CLOSED once the stream ended; undefined when `timeoutMs` passed first. */
  async next(signal: AbortSignal, timeoutMs: number): Promise<PeerResponse | typeof SESSION_CLOSED | undefined> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const response = this.queue.shift()
      if (response !== undefined) return response
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
