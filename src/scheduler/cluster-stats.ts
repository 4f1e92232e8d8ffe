import type { Clock } from '../common/clock.js'
import { BACK_TO_SOURCE_REASON_INDEX, BACK_TO_SOURCE_REASONS, type BackToSourceReason } from './back-to-source-reasons.js'

export const BUCKET_MS = 60_000
/** Minutes kept: the last hour, the current minute included. */
export const BUCKET_COUNT = 60

/** What happened on this scheduler in one minute. */
export interface StatsBucket {
  /** The minute's start, Unix milliseconds. */
  readonly startMs: number
  readonly bytesFromPeers: number
  readonly bytesFromSeedPeers: number
  readonly bytesFromOrigin: number
  readonly tasksStarted: number
  readonly tasksFinished: number
  readonly peersStarted: number
  readonly peersFinished: number
  readonly peersFailed: number
  /** Only the reasons that occurred, in BACK_TO_SOURCE_REASONS order. */
  readonly backToSource: ReadonlyArray<{ readonly reason: BackToSourceReason; readonly count: number }>
}

export type StatsCounter = 'bytesFromPeers' | 'bytesFromSeedPeers' | 'bytesFromOrigin' | 'tasksStarted' | 'tasksFinished' | 'peersStarted' | 'peersFinished' | 'peersFailed'

/** One slot of the ring, reused when its minute comes round again. */
class Slot {
  minute = -1
  bytesFromPeers = 0
  bytesFromSeedPeers = 0
  bytesFromOrigin = 0
  tasksStarted = 0
  tasksFinished = 0
  peersStarted = 0
  peersFinished = 0
  peersFailed = 0
  readonly backToSource = new Uint32Array(BACK_TO_SOURCE_REASONS.length)

  reset(minute: number): void {
    this.minute = minute
    this.bytesFromPeers = 0
    this.bytesFromSeedPeers = 0
    this.bytesFromOrigin = 0
    this.tasksStarted = 0
    this.tasksFinished = 0
    this.peersStarted = 0
    this.peersFinished = 0
    this.peersFailed = 0
    this.backToSource.fill(0)
  }
}

/**
 * The scheduler's counters of the last hour, one bucket per minute, in a ring of
 * {@link BUCKET_COUNT} slots allocated once: counting is O(1) and allocates nothing, and memory
 * stays the same however busy the scheduler is. A slot is cleared when its minute comes round.
 */
export class ClusterStats {
  private readonly slots: Slot[] = Array.from({ length: BUCKET_COUNT }, () => new Slot())

  constructor(private readonly components: { clock: Clock }) {}

  /** `nowMs` spares a caller that already read the clock (once per piece report) another read. */
  add(counter: StatsCounter, amount = 1, nowMs = this.components.clock.nowMs()): void {
    this.current(nowMs)[counter] += amount
  }

  backToSource(reason: BackToSourceReason): void {
    const counts = this.current(this.components.clock.nowMs()).backToSource
    const index = BACK_TO_SOURCE_REASON_INDEX[reason]
    counts[index] = (counts[index] ?? 0) + 1
  }

  /** The last {@link BUCKET_COUNT} minutes, oldest first, the current one last; empty minutes included. */
  buckets(): StatsBucket[] {
    const nowMinute = Math.floor(this.components.clock.nowMs() / BUCKET_MS)
    const buckets: StatsBucket[] = []
    for (let minute = nowMinute - BUCKET_COUNT + 1; minute <= nowMinute; minute++) {
      const slot = this.slots[minute % BUCKET_COUNT]
      const live = slot !== undefined && slot.minute === minute
      buckets.push({
        startMs: minute * BUCKET_MS,
        bytesFromPeers: live ? slot.bytesFromPeers : 0,
        bytesFromSeedPeers: live ? slot.bytesFromSeedPeers : 0,
        bytesFromOrigin: live ? slot.bytesFromOrigin : 0,
        tasksStarted: live ? slot.tasksStarted : 0,
        tasksFinished: live ? slot.tasksFinished : 0,
        peersStarted: live ? slot.peersStarted : 0,
        peersFinished: live ? slot.peersFinished : 0,
        peersFailed: live ? slot.peersFailed : 0,
        backToSource: live ? BACK_TO_SOURCE_REASONS.flatMap((reason, i) => ((slot.backToSource[i] ?? 0) > 0 ? [{ reason, count: slot.backToSource[i] ?? 0 }] : [])) : [],
      })
    }
    return buckets
  }

  private current(nowMs: number): Slot {
    const minute = Math.floor(nowMs / BUCKET_MS)
    const slot = this.slots[minute % BUCKET_COUNT] as Slot
    if (slot.minute !== minute) slot.reset(minute)
    return slot
  }
}
