import type { Clock } from './clock.js'

/**
 * A clock for tests: time moves only when someone sleeps, and at once; every delay asked for is
 * recorded, so a test can assert on backoff and pacing without waiting.
 */
export class InstantClock implements Clock {
  readonly sleeps: number[] = []

  constructor(private nowMsValue = 1_700_000_000_000) {}

  nowMs(): number {
    return this.nowMsValue
  }

  /** Moves time forward without a sleep, as if other work took `delayMs`. */
  advance(delayMs: number): void {
    this.nowMsValue += delayMs
  }

  /** The sum of every delay slept so far. */
  get sleptMs(): number {
    return this.sleeps.reduce((sum, delay) => sum + delay, 0)
  }

  sleep(delayMs: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason as Error)
    this.sleeps.push(delayMs)
    this.nowMsValue += delayMs
    return Promise.resolve()
  }
}
