import { performance } from 'node:perf_hooks'
import { percentile, type Load, type OpenLoopStats } from './scheduler-load-report.js'

// How bench/scheduler-load.ts starts its peers: a closed loop (a pool) or an open one (a schedule).

/** Runs `work` on every item, at most `concurrency` at once, in order of the items. */
export async function inPool<T, R>(items: readonly T[], concurrency: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = []
  let next = 0
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      for (let i = next++; i < items.length; i = next++) results[i] = await work(items[i]!)
    }),
  )
  return results
}

/**
 * Starts `work` on every item on a schedule of `ratePerSecond` starts per second, however many
 * are still running (an open loop), and waits for all of them. Gaps are exponential (Poisson
 * arrivals) or fixed. A start the timer makes late is made as soon as it can be, so the
 * schedule, not the system under test, sets the arrival times.
 */
export async function atRate<T, R>(items: readonly T[], load: Extract<Load, { kind: 'open' }>, random: () => number, work: (item: T) => Promise<R>): Promise<{ results: R[]; stats: OpenLoopStats }> {
  const startedMs = performance.now()
  const lagsMs: number[] = []
  const pending: Array<Promise<R>> = []
  let dueMs = 0
  let inFlight = 0
  let maxInFlight = 0
  let busyMs = 0
  let firstStartMs: number | undefined
  let lastStartMs = startedMs
  for (const item of items) {
    const gapMs = load.arrivals === 'fixed' ? 1000 / load.ratePerSecond : (-Math.log(1 - random()) * 1000) / load.ratePerSecond
    dueMs += gapMs
    const waitMs = startedMs + dueMs - performance.now()
    if (waitMs > 0) await new Promise((resolve) => setTimeout(resolve, waitMs))
    lastStartMs = performance.now()
    firstStartMs ??= lastStartMs
    lagsMs.push(Math.max(0, lastStartMs - (startedMs + dueMs)))
    inFlight++
    maxInFlight = Math.max(maxInFlight, inFlight)
    const peerStartMs = lastStartMs
    const done = work(item).finally(() => {
      inFlight--
      busyMs += performance.now() - peerStartMs
    })
    // A failure is reported by Promise.all below; until then it must not count as unhandled.
    done.catch(() => undefined)
    pending.push(done)
  }
  const results = await Promise.all(pending)
  const elapsedMs = performance.now() - startedMs
  return {
    results,
    stats: {
      achievedRatePerSecond: firstStartMs === undefined || lastStartMs <= firstStartMs ? Number.NaN : ((items.length - 1) * 1000) / (lastStartMs - firstStartMs),
      meanInFlight: busyMs / Math.max(1, elapsedMs),
      maxInFlight,
      startLagP99Ms: percentile([...lagsMs].sort((a, b) => a - b), 0.99),
    },
  }
}

/** Open-loop stats over the first peers' run and the rest's: the rest are nearly all of them. */
export function combined(first: OpenLoopStats, rest: OpenLoopStats, restShare: number): OpenLoopStats {
  return {
    achievedRatePerSecond: rest.achievedRatePerSecond,
    meanInFlight: first.meanInFlight * (1 - restShare) + rest.meanInFlight * restShare,
    maxInFlight: Math.max(first.maxInFlight, rest.maxInFlight),
    startLagP99Ms: Math.max(first.startLagP99Ms, rest.startLagP99Ms),
  }
}
