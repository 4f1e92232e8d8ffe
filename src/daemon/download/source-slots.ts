/**
 * Ranged requests to origins at once, all of a host's downloads together, handed out in the order
 * they were asked for. A download holds a slot for one run of pieces and asks again for the next,
 * so downloads sharing the host take turns run by run.
 *
 * Without a host-wide limit, a seed peer fetching an image's ten layers ran ten times
 * `concurrentPieceCount` requests, and a shared link split that many ways lands no piece for the
 * first part of a second: nothing for the children to start on (in the swarm simulator, 100 hosts
 * x 256 MiB in 10 layers got their first parents after about a second; with 8 slots, the last
 * host came at 1.37x the lower bound instead of 1.61x).
 */
export class SourceSlots {
  private active = 0
  private readonly waiting: Array<(release: () => void) => void> = []

  constructor(private readonly init: { readonly limit: number }) {}

  /** Requests under way. */
  get activeCount(): number {
    return this.active
  }

  /**
   * Calls `granted` with a release function once a slot is free: at once when one is, else when
   * the requests asked before this one have had theirs. Returns a cancel for a request not yet
   * granted (a no-op after). For callers on a clock of their own: the swarm simulator.
   */
  request(granted: (release: () => void) => void): () => void {
    if (this.active < this.init.limit) {
      this.grant(granted)
      return () => undefined
    }
    this.waiting.push(granted)
    return () => {
      const index = this.waiting.indexOf(granted)
      if (index !== -1) this.waiting.splice(index, 1)
    }
  }

  /** Resolves with a release function once a slot is free; rejects with the signal's reason if it aborts first. */
  acquire(signal: AbortSignal): Promise<() => void> {
    return new Promise((resolve, reject) => {
      if (signal.aborted) {
        reject(signal.reason as Error)
        return
      }
      const abort = (): void => {
        cancel()
        reject(signal.reason as Error)
      }
      const cancel = this.request((release) => {
        signal.removeEventListener('abort', abort)
        resolve(release)
      })
      signal.addEventListener('abort', abort, { once: true })
    })
  }

  private grant(granted: (release: () => void) => void): void {
    this.active++
    let released = false
    granted(() => {
      if (released) return
      released = true
      this.active--
      const next = this.waiting.shift()
      if (next !== undefined) this.grant(next)
    })
  }
}
