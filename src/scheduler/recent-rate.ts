/** The window a rate is averaged over. */
export const RATE_WINDOW_SECONDS = 5

/**
 * Bytes received per second over the last {@link RATE_WINDOW_SECONDS} seconds: one slot per second
 * in a fixed ring, so recording is O(1) and allocates nothing. Times come from the caller's clock.
 */
export class RecentRate {
  // A plain array, not a Float64Array: every peer holds one, and a typed array's buffer costs
  // several times its five numbers.
  private readonly slots: number[] = new Array<number>(RATE_WINDOW_SECONDS).fill(0)
  /** The second the newest slot holds; slots older than the window are cleared as time moves. */
  private newestSecond = 0

  add(nowMs: number, bytes: number): void {
    this.advanceTo(Math.floor(nowMs / 1000))
    this.slots[this.newestSecond % RATE_WINDOW_SECONDS] = (this.slots[this.newestSecond % RATE_WINDOW_SECONDS] ?? 0) + bytes
  }

  /** Bytes per second, averaged over the window that ends now (the current second counts whole). */
  bytesPerSecond(nowMs: number): number {
    const second = Math.floor(nowMs / 1000)
    let sum = 0
    for (let i = 0; i < RATE_WINDOW_SECONDS; i++) {
      const slotSecond = this.newestSecond - i
      if (slotSecond <= second - RATE_WINDOW_SECONDS || slotSecond > second) continue
      sum += this.slots[slotSecond % RATE_WINDOW_SECONDS] ?? 0
    }
    return Math.round(sum / RATE_WINDOW_SECONDS)
  }

  private advanceTo(second: number): void {
    if (second <= this.newestSecond) return
    const gap = Math.min(second - this.newestSecond, RATE_WINDOW_SECONDS)
    for (let i = 1; i <= gap; i++) this.slots[(this.newestSecond + i) % RATE_WINDOW_SECONDS] = 0
    this.newestSecond = second
  }
}
