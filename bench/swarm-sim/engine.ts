/**
 * The simulator's event loop: simulated time in milliseconds, advanced from one scheduled event
 * to the next, never by the wall clock.
 *
 * Events sit in a binary heap keyed by (time, sequence): two events at the same time run in the
 * order they were scheduled, so a run is a function of its seed alone.
 *
 * Code under test (the real scheduler) is asynchronous: it awaits `clock.sleep(...)` and its own
 * promises. A promise callback runs as a microtask, after the event that resolved it has
 * returned, and a chain of awaits needs several microtask turns. So after any event that
 * resolved or rejected a sleep of this loop's clock, and after any event during which `settle()`
 * was called, `run` awaits one macrotask turn (`setImmediate`), by which time every pending
 * microtask has run, before it takes the next event; whatever that code scheduled is then in the
 * heap at the current time. Events that resolved nothing pay no such turn: a run takes millions
 * of events, and a macrotask turn costs microseconds.
 */
import type { Clock } from '../../src/common/clock.js'
import { IndexedHeap, type HeapItem } from './indexed-heap.js'

/** A scheduled event, as `at` and `after` return it; pass it to `cancel`. */
export interface Timer {
  readonly atMs: number
}

class ScheduledEvent implements Timer, HeapItem {
  /** Place in the heap; -1 once it ran or was cancelled. */
  heapIndex = -1

  constructor(
    readonly atMs: number,
    readonly sequence: number,
    readonly action: () => void,
  ) {}
}

function runsBefore(a: ScheduledEvent, b: ScheduledEvent): boolean {
  return a.atMs < b.atMs || (a.atMs === b.atMs && a.sequence < b.sequence)
}

export class EventLoop {
  private readonly heap = new IndexedHeap<ScheduledEvent>(runsBefore)
  private currentMs = 0
  private nextSequence = 0
  private eventCount = 0
  private stopped = false
  /** Set by an event that settled a promise; `run` then yields a macrotask turn. */
  private settlePending = false

  /** A `Clock` on simulated time: `sleep` resolves through a timer of this loop, and rejects when its signal aborts. */
  readonly clock: Clock = {
    nowMs: () => this.currentMs,
    sleep: (delayMs, signal) => this.sleep(delayMs, signal),
  }

  get nowMs(): number {
    return this.currentMs
  }

  /** Events run so far. */
  get eventsRun(): number {
    return this.eventCount
  }

  /** Events scheduled and not yet run or cancelled. */
  get pendingEvents(): number {
    return this.heap.size
  }

  /** Schedules `action` at `timeMs`; throws a RangeError for a time before now (or not a number). */
  at(timeMs: number, action: () => void): Timer {
    if (!(timeMs >= this.currentMs)) throw new RangeError(`cannot schedule at ${timeMs} ms: the simulated time is already ${this.currentMs} ms`)
    const event = new ScheduledEvent(timeMs, this.nextSequence++, action)
    this.heap.push(event)
    return event
  }

  /** Schedules `action` `delayMs` from now (0: after the events already scheduled for now). */
  after(delayMs: number, action: () => void): Timer {
    return this.at(this.currentMs + Math.max(0, delayMs), action)
  }

  /** Unschedules a timer; does nothing for one that already ran or was cancelled. */
  cancel(timer: Timer): void {
    if (timer instanceof ScheduledEvent) this.heap.remove(timer)
  }

  /**
   * Tells `run` that the current event started promise work (resolved a promise, called async
   * code) whose callbacks must run before time moves on.
   */
  settle(): void {
    this.settlePending = true
  }

  /** Makes `run` return after the event it is running. */
  stop(): void {
    this.stopped = true
  }

  /**
   * Runs events in time order until none is left, the next is after `untilMs`, or `stop()` is
   * called. With `untilMs` and no stop, the clock then stands at `untilMs`, so runs can be chained.
   * An exception thrown by an event ends the run with it.
   */
  async run(options: { untilMs?: number } = {}): Promise<void> {
    const untilMs = options.untilMs ?? Infinity
    this.stopped = false
    // Whatever was started before the run (a first register call) settles before the first event.
    this.settlePending = true
    await this.settleIfAsked()
    while (!this.stopped) {
      const next = this.heap.peek()
      if (next === undefined || next.atMs > untilMs) break
      this.heap.pop()
      this.currentMs = next.atMs
      this.eventCount++
      next.action()
      if (this.settlePending) await this.settleIfAsked()
    }
    if (!this.stopped && untilMs !== Infinity && untilMs > this.currentMs) this.currentMs = untilMs
  }

  /** Yields macrotask turns until a turn settles nothing more (a continuation may resolve another sleep). */
  private async settleIfAsked(): Promise<void> {
    while (this.settlePending) {
      this.settlePending = false
      await yieldMacrotask()
    }
  }

  private sleep(delayMs: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason as Error)
        return
      }
      const onAbort = (): void => {
        this.cancel(timer)
        this.settlePending = true
        reject(signal?.reason as Error)
      }
      const timer = this.after(delayMs, () => {
        signal?.removeEventListener('abort', onAbort)
        this.settlePending = true
        resolve()
      })
      signal?.addEventListener('abort', onAbort, { once: true })
    })
  }
}

function yieldMacrotask(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve))
}
