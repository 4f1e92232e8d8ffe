import type { TaskId } from '../../../src/protocol/ids.js'

/** Where a piece a simulated daemon now holds came from. */
export type PieceSource =
  | { readonly kind: 'origin' }
  | {
    readonly kind: 'parent'
    /** The simulated host that sent it. */
    readonly parentHost: number
    /** When the child asked for it, and when the parent's transfer began. */
    readonly requestedMs: number
    readonly sendingMs: number
  }

/** A piece that landed (checked and held) on a simulated host. */
export interface PieceLanded {
  readonly host: number
  readonly taskId: TaskId
  readonly number: number
  /** The piece's length. */
  readonly bytes: number
  readonly atMs: number
  readonly source: PieceSource
}

/**
 * Told of every piece a simulated Damselfly daemon holds, as it lands: what bench/swarm-sim/trace.ts
 * reads to say where a run's time went (each hop's wait, request and transfer). Runs without one
 * pay nothing.
 */
export interface PieceTrace {
  landed(event: PieceLanded): void
}
