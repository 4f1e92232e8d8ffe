/**
 * Ranged requests to one origin at once, all of a host's downloads together, handed out in the
 * order they were asked for. A download holds a slot for one run of pieces and asks again for the
 * next, so downloads sharing an origin take turns run by run. Each origin (`scheme://host:port`)
 * has slots of its own: a slow or stalling origin, or one a peer made a seed fetch from, holds up
 * only the fetches from that origin.
 *
 * Without a shared limit, a seed peer fetching an image's ten layers ran ten times
 * `concurrentPieceCount` requests, and a shared link split that many ways lands no piece for the
 * first part of a second: nothing for the children to start on (in the swarm simulator, 100 hosts
 * x 256 MiB in 10 layers got their first parents after about a second; with 8 slots, the last
 * host came at 1.37x the lower bound instead of 1.61x).
 */
/** One origin's slots: requests under way, and those waiting in the order they asked. */
interface Lane {
  active: number
  readonly waiting: Array<(release: () => void) => void>
}

export class SourceSlots {
  private readonly lanes = new Map<string, Lane>()

  constructor(private readonly init: { readonly limit: number }) {}

  /** Requests under way to `origin`. */
  activeCount(origin: string): number {
    return this.lanes.get(origin)?.active ?? 0
  }

  /**
   * Calls `granted` with a release function once a slot of `origin` is free: at once when one is,
   * else when the requests asked before this one have had theirs. Returns a cancel for a request
   * not yet granted (a no-op after). For callers on a clock of their own: the swarm simulator.
   */
  request(origin: string, granted: (release: () => void) => void): () => void {
    let lane = this.lanes.get(origin)
    if (lane === undefined) this.lanes.set(origin, (lane = { active: 0, waiting: [] }))
    if (lane.active < this.init.limit) {
      this.grant(origin, lane, granted)
      return () => undefined
    }
    lane.waiting.push(granted)
    const waiting = lane.waiting
    return () => {
      const index = waiting.indexOf(granted)
      if (index !== -1) waiting.splice(index, 1)
    }
  }

  /** Resolves with a release function once a slot of `origin` is free; rejects with the signal's reason if it aborts first. */
  acquire(origin: string, signal: AbortSignal): Promise<() => void> {
    return new Promise((resolve, reject) => {
      if (signal.aborted) {
        reject(signal.reason as Error)
        return
      }
      const abort = (): void => {
        cancel()
        reject(signal.reason as Error)
      }
      const cancel = this.request(origin, (release) => {
        signal.removeEventListener('abort', abort)
        resolve(release)
      })
      signal.addEventListener('abort', abort, { once: true })
    })
  }

  private grant(origin: string, lane: Lane, granted: (release: () => void) => void): void {
    lane.active++
    let released = false
    granted(() => {
      if (released) return
      released = true
      lane.active--
      const next = lane.waiting.shift()
      if (next !== undefined) this.grant(origin, lane, next)
      else if (lane.active === 0) this.lanes.delete(origin)
    })
  }
}
