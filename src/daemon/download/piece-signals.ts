import { DamselflyError } from '../../protocol/damselfly-error.js'

type Waiter = { resolve: (ready: boolean) => void; reject: (error: Error) => void }

/**
 * Lets readers wait for pieces while a download runs. A waiter learns that its piece is ready
 * (true), that the content ended before it (false, for content of unknown length), or the
 * download's failure.
 */
export class PieceSignals {
  private readonly waiters = new Map<number, Set<Waiter>>()
  private readonly readyPieces = new Set<number>()
  private endPieceCount: number | undefined
  private failure: Error | undefined
  /** The piece each client's reader needs next. */
  private readonly heads = new Map<symbol, number>()

  ready(number: number): void {
    this.readyPieces.add(number)
    for (const waiter of this.take(number)) waiter.resolve(true)
  }

  /** The content has exactly `pieceCount` pieces; waiters beyond it learn there is nothing more. */
  end(pieceCount: number): void {
    this.endPieceCount = pieceCount
    for (const [number, set] of this.waiters) {
      if (number < pieceCount) continue
      this.waiters.delete(number)
      for (const waiter of set) waiter.resolve(false)
    }
  }

  /** The stored pieces were thrown away: nothing is ready any more. Waiters keep waiting for the new pieces. */
  reset(): void {
    this.readyPieces.clear()
    this.endPieceCount = undefined
  }

  fail(error: Error): void {
    this.failure = error
    for (const set of this.waiters.values()) for (const waiter of set) waiter.reject(error)
    this.waiters.clear()
  }

  /**
   * Registers a client's reader that reads the content in order: it says which piece it needs next
   * with `at`, and `release`s once done (safe to repeat). The download fetches from the lowest of
   * these first ({@link PieceSignals.readHead}).
   */
  reader(): { at(number: number): void; release(): void } {
    const key = Symbol('reader')
    return {
      at: (number) => {
        this.heads.set(key, number)
      },
      release: () => {
        this.heads.delete(key)
      },
    }
  }

  /** The lowest piece a registered reader needs next, or undefined while none reads. */
  readHead(): number | undefined {
    let lowest: number | undefined
    for (const number of this.heads.values()) if (lowest === undefined || number < lowest) lowest = number
    return lowest
  }

  /** Resolves true once `number` is ready, false if the content ends before it; rejects on failure or abort. */
  wait(number: number, signal: AbortSignal, isStored: () => boolean): Promise<boolean> {
    if (this.readyPieces.has(number) || isStored()) return Promise.resolve(true)
    if (this.failure !== undefined) return Promise.reject(this.failure)
    if (this.endPieceCount !== undefined && number >= this.endPieceCount) return Promise.resolve(false)
    if (signal.aborted) return Promise.reject(new DamselflyError('CANCELLED', 'the reader went away'))
    return new Promise((resolve, reject) => {
      const onAbort = (): void => {
        this.waiters.get(number)?.delete(waiter)
        reject(new DamselflyError('CANCELLED', 'the reader went away'))
      }
      const waiter: Waiter = {
        resolve: (ready) => {
          signal.removeEventListener('abort', onAbort)
          resolve(ready)
        },
        reject: (error) => {
          signal.removeEventListener('abort', onAbort)
          reject(error)
        },
      }
      signal.addEventListener('abort', onAbort, { once: true })
      let set = this.waiters.get(number)
      if (set === undefined) this.waiters.set(number, (set = new Set()))
      set.add(waiter)
    })
  }

  private take(number: number): Set<Waiter> {
    const set = this.waiters.get(number) ?? new Set<Waiter>()
    this.waiters.delete(number)
    return set
  }
}
