import type { StoredTask } from '../../storage/content-store.js'

/** What the rules need of a task: how many pieces the seed holds, and whether all. Compared by identity. */
export type SpreadTask = Pick<StoredTask, 'finishedPieceCount' | 'complete'>

/** How a seed peer's pieces of one task went out. */
interface Served {
  /** Per piece: times it went out or is going out right now. */
  readonly counts: Map<number, number>
  /** levels[k]: pieces served exactly k times, for k >= 1. */
  readonly levels: number[]
  uploading: number
}

/** A seed's answer to a child asking for one piece. */
export type SpreadClaim = 'send' | 'defer' | 'busy'

/**
 * A seed peer's super-seeding rules. The seed's uplink is the swarm's bottleneck, so it should
 * carry pieces the children do not have yet, and get them out one after another rather than
 * all at once:
 * - no piece of a task goes out an extra time while another piece the seed holds has gone out
 *   fewer times (`defer`: the child fetches that piece from the peer that has it, or asks the
 *   seed for another); uploads in progress count, so children starting together get different pieces;
 * - nor while another task the seed is still fetching, with a piece of it going out right now,
 *   holds a piece that has not gone out: the uplink a seed shares among tasks (an image's layers)
 *   carries first copies before second ones. A small layer fetched early otherwise went out again
 *   and again while the large ones waited for their first copies;
 * - at most `uploadsPerTask` pieces of one task go out at once (`busy`): each then arrives
 *   soon and the children start trading after a few piece times, not after N. Enough of them that
 *   the uplink stays full while each child's downlink also carries its other parents' pieces.
 */
export class PieceSpread {
  private readonly served = new WeakMap<SpreadTask, Served>()
  /** Tasks still being fetched with a piece going out right now. */
  private readonly fetching = new Set<SpreadTask>()

  constructor(private readonly init: { uploadsPerTask: number }) {}

  /** Claims piece `number` for one upload; on `send`, call {@link PieceSpread.finished} once it ends. */
  claim(task: SpreadTask, number: number): SpreadClaim {
    let served = this.served.get(task)
    if (served === undefined) this.served.set(task, (served = { counts: new Map(), levels: [], uploading: 0 }))
    const count = served.counts.get(number) ?? 0
    if (count > 0 && (count > this.fewest(task, served) || this.firstCopiesWaiting(task))) return 'defer'
    if (served.uploading >= this.init.uploadsPerTask) return 'busy'
    served.uploading++
    if (!task.complete) this.fetching.add(task)
    this.move(served, number, count, count + 1)
    return 'send'
  }

  /** Ends an upload claimed with `send`; one that did not deliver the piece gives its count back. */
  finished(task: SpreadTask, number: number, delivered: boolean): void {
    const served = this.served.get(task)
    if (served === undefined) return
    served.uploading--
    if (served.uploading === 0) this.fetching.delete(task)
    const count = served.counts.get(number) ?? 0
    if (!delivered && count > 0) this.move(served, number, count, count - 1)
  }

  /** Whether another task being fetched holds a piece that has not gone out. */
  private firstCopiesWaiting(task: SpreadTask): boolean {
    for (const other of this.fetching) {
      if (other !== task && !other.complete && other.finishedPieceCount > (this.served.get(other)?.counts.size ?? 0)) return true
    }
    return false
  }

  /** The fewest times any held piece has gone out. */
  private fewest(task: SpreadTask, served: Served): number {
    if (served.counts.size < task.finishedPieceCount) return 0
    return Math.max(0, served.levels.findIndex((pieces, level) => level > 0 && pieces > 0))
  }

  private move(served: Served, number: number, from: number, to: number): void {
    if (from > 0) served.levels[from] = (served.levels[from] ?? 0) - 1
    if (to > 0) served.levels[to] = (served.levels[to] ?? 0) + 1
    if (to === 0) served.counts.delete(number)
    else served.counts.set(number, to)
  }
}
