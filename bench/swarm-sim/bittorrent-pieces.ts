/**
 * One BitTorrent host's pieces: what it holds, how many of its neighbours hold each piece, what
 * it is fetching, and which piece to ask a neighbour for next (random first, then rarest first,
 * then endgame).
 */
import type { Random } from './random.js'
import { randomInt } from './random.js'

/** Pieces picked at random before rarest first starts, as mainline BitTorrent does, so a newcomer soon has something to trade. */
export const RANDOM_FIRST_PIECES = 4
/** In endgame a missing piece is fetched from at most this many neighbours at once; the first to deliver cancels the other. */
export const ENDGAME_SOURCES = 2

export class PieceBook {
  readonly have: Uint8Array
  haveCount = 0
  /** Neighbours holding each piece. */
  readonly availability: Uint16Array
  /** Transfers of each piece under way (or asked for) to this host. */
  readonly sources: Uint8Array
  /** Pieces with at least one source. */
  private requestedPieces = 0

  constructor(
    readonly pieceCount: number,
    holdsAll: boolean,
  ) {
    this.have = new Uint8Array(pieceCount).fill(holdsAll ? 1 : 0)
    this.haveCount = holdsAll ? pieceCount : 0
    this.availability = new Uint16Array(pieceCount)
    this.sources = new Uint8Array(pieceCount)
  }

  get complete(): boolean {
    return this.haveCount === this.pieceCount
  }

  /** Every missing piece is already being fetched: time to ask other neighbours for the same pieces. */
  get inEndgame(): boolean {
    return !this.complete && this.requestedPieces === this.pieceCount - this.haveCount
  }

  add(piece: number): void {
    if (this.have[piece] === 1) return
    this.have[piece] = 1
    this.haveCount++
  }

  addSource(piece: number): void {
    if (this.sources[piece]!++ === 0) this.requestedPieces++
  }

  removeSource(piece: number): void {
    if (--this.sources[piece]! === 0) this.requestedPieces--
  }

  /**
   * The piece to ask a neighbour holding `remoteHave` for, or -1 when it has none worth asking:
   * a random one while this host has fewer than RANDOM_FIRST_PIECES, the rarest among its
   * neighbours after that, and in endgame one already under way from elsewhere (fewest sources
   * first) that is not already asked of this neighbour. Ties go to the first met from a random
   * place, so hosts do not all chase the same piece.
   */
  pick(remoteHave: Uint8Array, askedOfRemote: (piece: number) => boolean, random: Random): number {
    const count = this.pieceCount
    const start = randomInt(random, count)
    if (this.inEndgame) return this.pickDuplicate(remoteHave, askedOfRemote, start)
    const randomFirst = this.haveCount < RANDOM_FIRST_PIECES
    let best = -1
    let bestAvailability = Infinity
    for (let step = 0; step < count; step++) {
      const piece = start + step < count ? start + step : start + step - count
      if (remoteHave[piece] === 0 || this.have[piece] === 1 || this.sources[piece] !== 0) continue
      if (randomFirst) return piece
      const availability = this.availability[piece]!
      if (availability < bestAvailability) {
        best = piece
        bestAvailability = availability
      }
    }
    return best
  }

  private pickDuplicate(remoteHave: Uint8Array, askedOfRemote: (piece: number) => boolean, start: number): number {
    const count = this.pieceCount
    let best = -1
    let bestSources = ENDGAME_SOURCES
    for (let step = 0; step < count; step++) {
      const piece = start + step < count ? start + step : start + step - count
      if (remoteHave[piece] === 0 || this.have[piece] === 1) continue
      const sources = this.sources[piece]!
      if (sources < bestSources && !askedOfRemote(piece)) {
        best = piece
        bestSources = sources
      }
    }
    return best
  }
}
