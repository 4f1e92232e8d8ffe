import { systemClock, type Clock } from './clock.js'

/**
 * A token bucket shared by every task of a host: one for download, one for upload, one for
 * back-to-source. Callers take tokens for the bytes they just moved; when the bucket is empty
 * they wait, which pauses the stream and lets TCP push back on the sender.
 */
export class TokenBucket {
  private tokens: number
  private lastRefillMs: number
  /** Callers waiting, served in order so a large take cannot starve behind small ones. */
  private queue: Promise<void> = Promise.resolve()

  constructor(
    private readonly components: { clock?: Clock } = {},
    private readonly init: { rateBytesPerSecond: number; burstBytes?: number },
  ) {
    this.tokens = this.burstBytes
    this.lastRefillMs = this.clock.nowMs()
  }

  private get clock(): Clock {
    return this.components.clock ?? systemClock
  }

  /** Zero or less means unlimited. */
  get rateBytesPerSecond(): number {
    return this.init.rateBytesPerSecond
  }

  private get burstBytes(): number {
    return this.init.burstBytes ?? Math.max(this.init.rateBytesPerSecond / 10, 64 * 1024)
  }

  /** Waits until `bytes` tokens are available and takes them. Rejects when `signal` aborts. */
  take(bytes: number, signal?: AbortSignal): Promise<void> {
    if (this.init.rateBytesPerSecond <= 0 || !Number.isFinite(this.init.rateBytesPerSecond)) return Promise.resolve()
    const turn = this.queue.then(() => this.wait(bytes, signal))
    this.queue = turn.catch(() => undefined)
    return turn
  }

  private async wait(bytes: number, signal?: AbortSignal): Promise<void> {
    this.refill()
    // Debt is allowed so one chunk larger than the burst still passes; the next caller waits it off.
    if (this.tokens < 0 || this.tokens < Math.min(bytes, this.burstBytes)) {
      const missing = Math.min(bytes, this.burstBytes) - this.tokens
      await this.clock.sleep(Math.ceil((missing / this.init.rateBytesPerSecond) * 1000), signal)
      this.refill()
    }
    this.tokens -= bytes
  }

  private refill(): void {
    const now = this.clock.nowMs()
    const elapsedMs = now - this.lastRefillMs
    this.lastRefillMs = now
    this.tokens = Math.min(this.burstBytes, this.tokens + (elapsedMs / 1000) * this.init.rateBytesPerSecond)
  }
}
