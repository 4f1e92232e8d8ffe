import type { Clock } from './clock.js'

/**
 * A clock for tests whose sleeps stay pending until the test advances time past them, or their
 * signal aborts: a test decides exactly when each timer fires.
 */
export class ManualClock implements Clock {
  private nowMsValue: number
  private readonly pending: Array<{ untilMs: number; resolve: () => void }> = []

  constructor(nowMs = 0) {
    this.nowMsValue = nowMs
  }

  nowMs(): number {
    return this.nowMsValue
  }

  sleep(delayMs: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason as Error)
    return new Promise((resolve, reject) => {
      const entry = { untilMs: this.nowMsValue + delayMs, resolve }
      this.pending.push(entry)
      signal?.addEventListener('abort', () => {
        this.pending.splice(this.pending.indexOf(entry), 1)
        reject(signal.reason as Error)
      }, { once: true })
    })
  }

  /** Sleeps not yet over. */
  get sleeping(): number {
    return this.pending.length
  }

  /** Moves time forward by `ms` and ends every sleep that is then over. */
  advance(ms: number): void {
    this.nowMsValue += ms
    for (const entry of [...this.pending]) {
      if (entry.untilMs > this.nowMsValue) continue
      this.pending.splice(this.pending.indexOf(entry), 1)
      entry.resolve()
    }
  }
}
