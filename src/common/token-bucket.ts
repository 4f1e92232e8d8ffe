import { systemClock, type Clock } from './clock.js'
import { SerialQueue } from './serial-queue.js'

/**
 * A token bucket shared by every task of a host: one for download, one for upload, one for
 * back-to-source. Callers take tokens for the bytes they just moved; when the bucket is empty
 * they wait, which pauses the stream and lets TCP push back on the sender.
 */
export class TokenBucket {
  private tokens: number
  private lastRefillMs: number
  /** Callers waiting, served in order so a large take cannot starve behind small ones. */
  private readonly queue = new SerialQueue()
  /** How many `take` calls have not taken their tokens yet; `tryTake` never jumps ahead of them. */
  private waiting = 0

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

  private get unlimited(): boolean {
    return this.init.rateBytesPerSecond <= 0 || !Number.isFinite(this.init.rateBytesPerSecond)
  }

  /**
   * Takes `bytes` tokens at once if the bucket has them and no caller is waiting; returns false,
   * taking nothing, otherwise (then `take` waits its turn). Lets a stream paced well under its
   * limit go on without a promise and a socket pause per chunk, which at low rates cost more CPU
   * than the bytes themselves.
   */
  tryTake(bytes: number): boolean {
    if (this.unlimited) return true
    if (this.waiting > 0) return false
    this.refill()
    if (!this.hasTokensFor(bytes)) return false
    this.tokens -= bytes
    return true
  }

  /** Waits until `bytes` tokens are available and takes them. Rejects when `signal` aborts. */
  take(bytes: number, signal?: AbortSignal): Promise<void> {
    if (this.unlimited) return Promise.resolve()
    this.waiting++
    return this.queue.run(() => this.wait(bytes, signal)).finally(() => this.waiting--)
  }

  /** Debt is allowed so one chunk larger than the burst still passes; the next caller waits it off. */
  private hasTokensFor(bytes: number): boolean {
    return this.tokens >= 0 && this.tokens >= Math.min(bytes, this.burstBytes)
  }

  private async wait(bytes: number, signal?: AbortSignal): Promise<void> {
    this.refill()
    if (!this.hasTokensFor(bytes)) {
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
