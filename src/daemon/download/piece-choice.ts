import type { PeerId } from '../../protocol/ids.js'

/** How long a parent that answered busy is left alone. */
export const BUSY_BACKOFF_MS = 200
/** How long a piece a seed deferred is left to other parents before the seed is asked again. */
export const DEFERRED_BACKOFF_MS = 1_000
/** Failed requests after which a parent is dropped, blocklisted and replaced. */
export const MAX_PARENT_FAILURES = 2
/** Missing pieces considered per free slot when choosing what to fetch next. */
const WINDOW_PER_SLOT = 16
/**
 * The same while a client streams the content (the registry mirror, a read of the local API): from
 * the piece it needs next, so it is sent bytes as they land rather than after the download. With
 * the wide window, a child whose parents all held everything fetched pieces in random order over
 * 128 MiB, and a 200 MiB blob reached its client about a second after its last piece.
 */
const STREAM_WINDOW_PER_SLOT = 2
/** Missing pieces at most, all in flight, for the endgame to move a slow piece to another parent. */
const ENDGAME_PIECES = 2
/** In the endgame, how often pieces in flight are checked for a parent that stalls. */
export const ENDGAME_CHECK_MS = 250
/** In the endgame, a piece that got no bytes for this long moves to another parent. */
const ENDGAME_STALL_MS = 1_000
/** A seed peer counts as this many pieces busier: other peers serve what they hold first. */
const SEED_LOAD_PENALTY = 2
/**
 * Pieces one child fetches from a seed peer at once. Every child of the task shares the seed's
 * uplink, so more in flight would not make it faster; one at a time keeps the seed handing each
 * child different pieces, which the children then trade, instead of serving everyone everything.
 */
const SEED_IN_FLIGHT = 1
/**
 * Pieces a child fetches at once from a seed peer that is its only parent: it has nobody to trade
 * with, so spreading pieces buys it nothing, and a few pieces in flight hide each request's round
 * trip. When many children are in that state at once (a swarm's first seconds), the seed's own
 * limit (`seedPeer.taskUploadLimit` pieces of a task at once, then busy answers) shares its uplink.
 */
const LONE_SEED_IN_FLIGHT = 3

/**
 * Pieces a child fetches at once from one parent that is not a seed: its slots spread evenly over
 * those parents, so one parent when it has as many as slots. A parent's uplink is shared by every
 * child asking it, and every child's rarest pieces are the ones its parents got last, so children
 * that filled their slots from whoever held those piled onto a few parents whose uplinks each
 * served many children slowly, while other uplinks carried little: in the swarm simulator at
 * N = 300 x 3 GiB on equal links, hosts' downlinks ran 75% full. One piece per parent spreads the
 * load: 97% (bench/swarm-sim, with a seed peer sending 8 pieces of a task at once).
 */
export function perParentInFlight(concurrentPieceCount: number, parentsNotSeeds: number): number {
  return Math.ceil(concurrentPieceCount / Math.max(1, parentsNotSeeds))
}

/** A parent as the child sees it: what it holds and how it did. `about` is the caller's own record of it (an address). */
export interface ChoiceParent<About> {
  readonly peerId: PeerId
  readonly about: About
  /** Pieces it holds that the child can check (the scheduler sent their digests). */
  readonly pieces: Set<number>
  readonly seed: boolean
  /** Pieces asked of it and not settled yet. */
  inFlight: number
  failures: number
  /** It answered busy; not asked again before this time. */
  busyUntilMs: number
  /** Pieces it deferred (a seed sending other pieces first, or the endgame moved them away), each with when to ask again. */
  readonly deferredUntilMs: Map<number, number>
  /** Smoothed bytes per millisecond of its recent pieces; higher is better. */
  speed: number
  /** Pieces it delivered to this child: its speed means something once this is above 0. */
  delivered: number
}

/** A piece to request now, and of whom. */
export interface PieceAssignment<About> {
  readonly number: number
  readonly parent: ChoiceParent<About>
}

/** A piece asked of a parent and not settled: what the endgame watches. */
interface Asked<About> {
  readonly parent: ChoiceParent<About>
  readonly startedMs: number
  /** Bytes received when the endgame last looked, and when that count last grew. */
  seenBytes: number
  seenMs: number
}

function noReader(): undefined {
  return undefined
}

function load(parent: ChoiceParent<unknown>): number {
  return parent.inFlight + (parent.seed ? SEED_LOAD_PENALTY : 0)
}

/**
 * A child's rules for which missing piece to fetch next and from which parent, apart from any
 * I/O so that the daemon's download (parent-download.ts) and the swarm simulator
 * (bench/swarm-sim) follow the same ones:
 * - candidates: the missing pieces some parent holds, in the order they became held; while a
 *   client streams the content, the missing pieces from its read head on, in a short window;
 * - rarest first among them, ties broken at random, so the children of one seed fetch different
 *   pieces from it and trade the rest among themselves;
 * - per piece, the holder with the least in flight (a seed counting as busier, and asked for one
 *   piece at a time unless it is the only parent; any other parent for at most its even share of
 *   the slots, see perParentInFlight), then the fastest; parents resting after a busy answer, or
 *   from a piece they deferred, are passed over;
 * - the endgame: once the last few pieces are all in flight, a piece whose parent stalls, or that
 *   another parent would deliver in well under half the time left, is moved.
 * The caller starts the requests it is handed, and tells this how each ended.
 */
export class PieceChoice<About> {
  private readonly parents = new Map<PeerId, ChoiceParent<About>>()
  private readonly missing = new Set<number>()
  private readonly asked = new Map<number, Asked<About>>()
  /** How many known parents hold each piece, kept as parents come and go, so choosing pieces does not scan every parent. */
  private readonly holders = new Map<number, number>()
  /**
   * The missing pieces some parent holds, in the order they became held: what choosing pieces
   * iterates. Iterating every missing piece instead cost a scan of the whole task per event while
   * parents held little (a child following a seed that still fetches), quadratic in the pieces.
   */
  private readonly held = new Set<number>()
  private seedParents = 0

  constructor(
    private readonly init: {
      /** Pieces in flight at most. */
      readonly concurrentPieceCount: number
      readonly pieceLengthBytes: number
      /** Uniform in [0, 1): breaks ties between equally rare pieces. */
      readonly random: () => number
    },
    missing: Iterable<number>,
  ) {
    for (const number of missing) this.missing.add(number)
  }

  get missingCount(): number {
    return this.missing.size
  }

  /** Pieces asked of a parent and not settled yet. */
  get inFlightCount(): number {
    return this.asked.size
  }

  get parentCount(): number {
    return this.parents.size
  }

  parent(peerId: PeerId): ChoiceParent<About> | undefined {
    return this.parents.get(peerId)
  }

  /** The parent known by that id, or a new one. */
  addParent(peerId: PeerId, offer: { readonly seed: boolean; readonly about: About }): ChoiceParent<About> {
    const known = this.parents.get(peerId)
    if (known !== undefined) return known
    const parent: ChoiceParent<About> = {
      peerId,
      about: offer.about,
      pieces: new Set<number>(),
      seed: offer.seed,
      inFlight: 0,
      failures: 0,
      busyUntilMs: 0,
      deferredUntilMs: new Map<number, number>(),
      speed: 1,
      delivered: 0,
    }
    this.parents.set(peerId, parent)
    if (parent.seed) this.seedParents++
    return parent
  }

  /** Pieces the parent holds; only pieces the child can check belong here. */
  addPieces(parent: ChoiceParent<About>, numbers: Iterable<number>): void {
    for (const number of numbers) {
      if (parent.pieces.has(number)) continue
      parent.pieces.add(number)
      this.holders.set(number, (this.holders.get(number) ?? 0) + 1)
      if (this.missing.has(number)) this.held.add(number)
    }
  }

  /** Forgets the parent; its pieces in flight settle as usual. */
  dropParent(parent: ChoiceParent<About>): void {
    if (this.parents.get(parent.peerId) !== parent) return
    this.parents.delete(parent.peerId)
    if (parent.seed) this.seedParents--
    for (const number of parent.pieces) {
      const holders = (this.holders.get(number) ?? 1) - 1
      this.holders.set(number, holders)
      if (holders === 0) this.held.delete(number)
    }
  }

  /**
   * The pieces to request now, each from its parent, already counted as in flight: as many as
   * free slots allow. `readHead` tells the piece a client streaming the content needs next, if one does.
   */
  assign(nowMs: number, readHead: () => number | undefined = noReader): Array<PieceAssignment<About>> {
    const assigned: Array<PieceAssignment<About>> = []
    // Events come far more often than free slots: with none, there is nothing to choose.
    if (this.asked.size >= this.init.concurrentPieceCount) return assigned
    const readHeadPiece = readHead()
    const window: Array<{ number: number; holders: number; tieBreak: number }> = []
    const windowPieces = this.init.concurrentPieceCount * (readHeadPiece === undefined ? WINDOW_PER_SLOT : STREAM_WINDOW_PER_SLOT)
    // A reader needs the pieces in order: the missing ones from its head on, ascending, at most a
    // wide window's worth looked at. Otherwise the held ones, each of which can join the window.
    const candidates = readHeadPiece === undefined ? this.held : this.missing
    let examined = 0
    for (const number of candidates) {
      if (readHeadPiece !== undefined && number < readHeadPiece) continue
      if (window.length >= windowPieces || ++examined > this.init.concurrentPieceCount * WINDOW_PER_SLOT) break
      if (this.asked.has(number)) continue
      const holders = this.holders.get(number) ?? 0
      if (holders > 0) window.push({ number, holders, tieBreak: this.init.random() })
    }
    window.sort((a, b) => a.holders - b.holders || a.tieBreak - b.tieBreak)
    const perParent = this.perParentInFlight()
    for (const { number } of window) {
      if (this.asked.size >= this.init.concurrentPieceCount) break
      const parent = this.pickParent(number, nowMs, undefined, perParent)
      if (parent === undefined) continue
      this.asked.set(number, { parent, startedMs: nowMs, seenBytes: 0, seenMs: nowMs })
      parent.inFlight++
      assigned.push({ number, parent })
    }
    return assigned
  }

  /** A request handed out by {@link PieceChoice.assign} ended, however it ended. */
  settled(number: number): void {
    const asked = this.asked.get(number)
    if (asked === undefined) return
    asked.parent.inFlight--
    this.asked.delete(number)
  }

  /** The piece arrived whole and checked: it is no longer missing, and the parent's speed takes it in. */
  stored(number: number, parent: ChoiceParent<About>, bytes: number, costMs: number): void {
    parent.speed = parent.delivered === 0 ? bytes / costMs : parent.speed * 0.7 + (bytes / costMs) * 0.3
    parent.delivered++
    this.missing.delete(number)
    this.held.delete(number)
  }

  /** Counts a failed request; true when the parent failed often enough to be dropped. */
  failed(parent: ChoiceParent<About>): boolean {
    return ++parent.failures >= MAX_PARENT_FAILURES
  }

  /** The parent answered busy: it rests for a moment. */
  busy(parent: ChoiceParent<About>, nowMs: number): void {
    parent.busyUntilMs = nowMs + BUSY_BACKOFF_MS
  }

  /** The parent deferred the piece (a seed sending pieces nobody has first): others are asked for it for a moment. */
  deferred(parent: ChoiceParent<About>, number: number, nowMs: number): void {
    parent.deferredUntilMs.set(number, nowMs + DEFERRED_BACKOFF_MS)
  }

  /** The last few missing pieces are all on their way: one slow parent could hold up the whole download. */
  get inEndgame(): boolean {
    return this.missing.size <= ENDGAME_PIECES && this.missing.size === this.asked.size
  }

  /**
   * BitTorrent's endgame, without two writers of one piece: the pieces in flight whose parent
   * sent nothing for a while, or that another parent would deliver in well under half the time
   * still left at the pace of the bytes received so far. The caller aborts them; the slow parent rests from each for a moment, so the next
   * {@link PieceChoice.assign} asks the other. Empty outside the endgame.
   */
  piecesToMove(nowMs: number, receivedBytes: (number: number) => number): number[] {
    if (!this.inEndgame) return []
    const length = this.init.pieceLengthBytes
    const moving: number[] = []
    const perParent = this.perParentInFlight()
    for (const [number, asked] of this.asked) {
      const received = receivedBytes(number)
      if (received !== asked.seenBytes) {
        asked.seenBytes = received
        asked.seenMs = nowMs
      }
      const other = this.pickParent(number, nowMs, asked.parent, perParent)
      if (other === undefined) continue
      const stalled = nowMs - asked.seenMs >= ENDGAME_STALL_MS
      // Before its first byte a piece's pace is unknown, not slow: a request is a round trip away
      // from its bytes, and moving it then sent the last piece from parent to parent, each resting
      // from it for a second. Only a stall moves a piece that has received nothing.
      const elapsedMs = Math.max(1, nowMs - asked.startedMs)
      const slower = received > 0 && other.delivered > 0 && (length / other.speed) * 2 < ((length - received) * elapsedMs) / received
      if (!stalled && !slower) continue
      this.deferred(asked.parent, number, nowMs)
      moving.push(number)
    }
    return moving
  }

  /** The parent a piece was asked of, while it is in flight. */
  askedOf(number: number): ChoiceParent<About> | undefined {
    return this.asked.get(number)?.parent
  }

  /**
   * When choosing must look again with no event: a resting parent may be asked again, or (in
   * the endgame) pieces in flight are due a check. Infinity when only an event can change anything.
   */
  nextLookMs(nowMs: number): number {
    let deadline = this.inEndgame ? nowMs + ENDGAME_CHECK_MS : Infinity
    for (const parent of this.parents.values()) {
      if (parent.busyUntilMs > nowMs) deadline = Math.min(deadline, parent.busyUntilMs)
      for (const [number, until] of parent.deferredUntilMs) {
        if (until <= nowMs) parent.deferredUntilMs.delete(number)
        else if (this.missing.has(number)) deadline = Math.min(deadline, until)
      }
    }
    return deadline
  }

  /** Pieces the parent may have in flight at once: its share of the slots, or a seed's own limit. */
  private inFlightLimit(parent: ChoiceParent<About>, perParent: number): number {
    if (!parent.seed) return perParent
    return this.parents.size === 1 ? LONE_SEED_IN_FLIGHT : SEED_IN_FLIGHT
  }

  private perParentInFlight(): number {
    return perParentInFlight(this.init.concurrentPieceCount, this.parents.size - this.seedParents)
  }

  /**
   * Of the parents (but `except`), the holder of the piece with the least in flight, a seed counting
   * as busier, then the fastest; none if all are resting or have their share of the slots (`perParent`).
   */
  private pickParent(number: number, nowMs: number, except: ChoiceParent<About> | undefined, perParent: number): ChoiceParent<About> | undefined {
    let best: ChoiceParent<About> | undefined
    for (const parent of this.parents.values()) {
      if (parent === except || !parent.pieces.has(number) || parent.busyUntilMs > nowMs || (parent.deferredUntilMs.get(number) ?? 0) > nowMs) continue
      if (parent.inFlight >= this.inFlightLimit(parent, perParent)) continue
      if (best === undefined || load(parent) < load(best) || (load(parent) === load(best) && parent.speed > best.speed)) best = parent
    }
    return best
  }
}
