import type { ClientDuplexStream } from '@grpc/grpc-js'
import type { Logger } from '../../common/logger.js'
import type {
  AnnouncePeerRequest, AnnouncePeerResponse,
} from '../../protocol/generated/damselfly/scheduler/v1/scheduler.js'

export type PeerRequest = NonNullable<AnnouncePeerRequest['request']>
export type PeerResponse = NonNullable<AnnouncePeerResponse['response']>

/** The scheduler's stream ended: it died, or restarted, or the network failed. */
export const SESSION_CLOSED = Symbol('session closed')

/**
 * One peer's AnnouncePeer stream with its scheduler: requests go out as the download progresses,
 * responses are read in order with {@link PeerSession.next}.
 */
export class PeerSession {
  private readonly queue: PeerResponse[] = []
  private waiter: (() => void) | undefined
  private ended = false

  constructor(
    readonly address: string,
    private readonly stream: ClientDuplexStream<AnnouncePeerRequest, AnnouncePeerResponse>,
    private readonly ids: { hostId: string; taskId: string; peerId: string },
    private readonly logger: Logger,
  ) {
    stream.on('data', (response: AnnouncePeerResponse) => {
      if (response.response !== undefined) this.queue.push(response.response)
      this.wake()
    })
    const end = (error?: Error): void => {
      if (!this.ended && error !== undefined) this.logger.warn({ scheduler: address, err: error }, 'scheduler stream failed')
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

  send(request: PeerRequest): void {
    if (this.ended) return
    this.stream.write({ ...this.ids, request })
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

  /** Ends the stream from this side; the scheduler keeps a finished peer as a parent. */
  close(): void {
    if (this.ended) return
    this.ended = true
    this.stream.end()
  }

  private wake(): void {
    const waiter = this.waiter
    this.waiter = undefined
    waiter?.()
  }
}
