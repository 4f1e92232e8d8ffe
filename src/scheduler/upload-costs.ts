/** Below this many samples the cost rule compares against a multiple of the mean. */
const NORMAL_DISTRIBUTION_SAMPLES = 30
/** With fewer samples than this there is nothing to compare against. */
const MIN_COST_SAMPLES = 2
const SLOW_PIECE_FACTOR = 20
const SIGMA_LIMIT = 3

/**
 * How long a peer's uploads took, as Dragonfly's bad-node rule needs them: the last one, and the
 * mean and variance of all before it, kept as running sums (Welford's), so a parent costs four
 * numbers however much it uploads, where a list of every cost cost 8 bytes an upload.
 */
export class UploadCosts {
  /** Uploads recorded. */
  count = 0
  private lastMs = 0
  private earlierMeanMs = 0
  /** The sum of squared distances from the mean of the uploads before the last. */
  private earlierSquaresMs2 = 0

  record(costMs: number): void {
    if (this.count > 0) {
      // The previous last joins the earlier uploads.
      const earlier = this.count
      const delta = this.lastMs - this.earlierMeanMs
      this.earlierMeanMs += delta / earlier
      this.earlierSquaresMs2 += delta * (this.lastMs - this.earlierMeanMs)
    }
    this.lastMs = costMs
    this.count++
  }

  /**
   * Dragonfly's bad-node rule: the last upload took far longer than the earlier ones did, more
   * than 20 times their mean while few samples exist, beyond mean + 3 sigma once 30 or more do.
   */
  lastIsAnomalous(): boolean {
    if (this.count < MIN_COST_SAMPLES) return false
    if (this.count < NORMAL_DISTRIBUTION_SAMPLES) return this.lastMs > this.earlierMeanMs * SLOW_PIECE_FACTOR
    const variance = this.earlierSquaresMs2 / (this.count - 1)
    return this.lastMs > this.earlierMeanMs + SIGMA_LIMIT * Math.sqrt(variance)
  }
}
