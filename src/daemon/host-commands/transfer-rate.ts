/** How far back a rate looks: long enough to smooth piece-sized steps, short enough to follow changes. */
export const RATE_WINDOW_MS = 5_000

/**
 * The rate of a growing byte count over the last few seconds, from samples of it: a download's
 * `bytes_per_second` in its progress reports. Samples must come in time order.
 */
export class TransferRate {
  private readonly samples: Array<{ atMs: number; bytes: number }> = []

  constructor(private readonly init: { windowMs: number } = { windowMs: RATE_WINDOW_MS }) {}

  /** Records the count at `atMs` and answers the rate since the oldest sample in the window, in bytes per second (0 until two samples span time). */
  sample(atMs: number, bytes: number): number {
    this.samples.push({ atMs, bytes })
    // One sample older than the window is kept, so the rate spans the whole window.
    while (this.samples.length > 2 && (this.samples[1]?.atMs ?? atMs) <= atMs - this.init.windowMs) this.samples.shift()
    const oldest = this.samples[0]
    if (oldest === undefined || atMs <= oldest.atMs) return 0
    return Math.max(0, Math.round(((bytes - oldest.bytes) * 1000) / (atMs - oldest.atMs)))
  }
}
