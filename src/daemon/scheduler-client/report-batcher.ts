import type { Clock } from '../../common/clock.js'

/** When gathered reports go out. */
export interface ReportBatching {
  /** The longest a report waits for others, from the first one waiting. */
  readonly flushDelayMs: number
  /** This many waiting go out at once; 1 sends every report on its own. */
  readonly maxCount: number
}

/**
 * How a daemon reports finished pieces: a piece waits at most 5 ms, about what a 1 MiB piece
 * takes to arrive over a fast link, so children hear of it before it could matter; 32 pieces
 * (about 4 KiB with their digests) is enough to fold a burst into one message.
 */
export const PIECE_REPORT_BATCHING: ReportBatching = { flushDelayMs: 5, maxCount: 32 }

/**
 * Why a batch's timer stops: it went out sooner. One reason for all, since `abort()` without one
 * builds a DOMException with its stack each time, and a batch goes out many times a second.
 */
const SENT_SOONER = new Error('the batch went out sooner')

/**
 * Gathers reports so that several go out in one message: `flushDelayMs` after the first one
 * waiting, as soon as `maxCount` are waiting, or when {@link flush} is called. Reports go out in
 * the order they were added. The owner calls `flush` before any other message and before it
 * ends its stream, so nothing waiting is lost or overtaken.
 */
export class ReportBatcher<T> {
  private waiting: T[] = []
  private timer: AbortController | undefined

  constructor(
    private readonly components: {
      readonly clock: Clock
      /** Sends one batch; never called with none. */
      readonly send: (reports: T[]) => void
    },
    private readonly init: ReportBatching,
  ) {}

  /** Reports waiting to go out. */
  get size(): number {
    return this.waiting.length
  }

  add(report: T): void {
    this.waiting.push(report)
    if (this.waiting.length >= this.init.maxCount) {
      this.flush()
      return
    }
    if (this.timer !== undefined) return
    const timer = new AbortController()
    this.timer = timer
    this.components.clock.sleep(this.init.flushDelayMs, timer.signal).then(
      () => {
        if (this.timer === timer) this.flush()
      },
      // Aborted: the batch went out sooner.
      () => undefined,
    )
  }

  /** Sends what is waiting now, if anything; safe to repeat. */
  flush(): void {
    this.timer?.abort(SENT_SOONER)
    this.timer = undefined
    if (this.waiting.length === 0) return
    const reports = this.waiting
    this.waiting = []
    this.components.send(reports)
  }
}
