import type { KeyObject } from 'node:crypto'
import type { Clock } from '../../common/clock.js'
import type { Logger } from '../../common/logger.js'
import type { TokenBucket } from '../../common/token-bucket.js'
import { DamselflyError, toDamselflyError } from '../../protocol/damselfly-error.js'
import type { PeerId } from '../../protocol/ids.js'
import { pieceCount, pieceRange } from '../../protocol/piece.js'
import { CAPABILITY_HEADER } from '../../security/capability.js'
import { SIGNATURE_HEADER, signRequest } from '../../security/request-signature.js'
import type { StoredTask } from '../../storage/content-store.js'
import type { PieceWriter } from '../../storage/piece-writer.js'
import type { DaemonMetrics } from '../daemon-metrics.js'
import { SESSION_CLOSED, type PeerSession } from '../scheduler-client/peer-session.js'
import type { ParentOffer, PieceDigest, SchedulerAnswer } from '../scheduler-client/scheduler-answers.js'
import type { ParentAddress, PieceClient, PieceSink } from './piece-client.js'
import type { PieceSignals } from './piece-signals.js'
import { relayedSourceFailure, type AskedOfSource } from './relayed-source-failure.js'

/** A parent as this child sees it: where it is, what it holds, how it did. */
interface ParentState {
  readonly peerId: PeerId
  readonly address: ParentAddress
  /** It serves without TLS: each request then carries a signature by this host's key. */
  readonly plain: boolean
  /** Pieces it holds, each with a digest from the scheduler. */
  readonly pieces: Set<number>
  readonly seed: boolean
  inFlight: number
  failures: number
  /** It answered busy; not asked again before this time. */
  busyUntilMs: number
  /** Pieces it deferred (a seed sending other pieces first), each with when to ask again. */
  readonly deferredUntilMs: Map<number, number>
  /** Smoothed bytes per millisecond of its recent pieces; higher is better. */
  speed: number
  /** Pieces it delivered to this child: its speed means something once this is above 0. */
  delivered: number
}

/** Without progress for this long, the child asks the scheduler for other parents. */
const STALL_MS = 5_000
const MAX_PARENT_FAILURES = 2
/** How long a parent that answered busy is left alone. */
const BUSY_BACKOFF_MS = 200
/** How long a piece a seed deferred is left to other parents before the seed is asked again. */
const DEFERRED_BACKOFF_MS = 1_000
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
const ENDGAME_CHECK_MS = 250
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

/** The one request under way for a piece. */
interface PieceFetch {
  readonly parent: ParentState
  readonly abort: AbortController
  readonly startedMs: number
  /** Where the piece's bytes go once the parent answers. */
  writer: PieceWriter | undefined
  /** Bytes received when the endgame last looked, and when that count last grew. */
  seenBytes: number
  seenMs: number
}

function load(parent: ParentState): number {
  return parent.inFlight + (parent.seed ? SEED_LOAD_PENALTY : 0)
}

export type ParentOutcome = 'done' | 'back-to-source'

/** The `error.code` of a parent's JSON error body, if it has one. */
function errorCode(body: Buffer): string | undefined {
  let parsed: { error?: { code?: unknown } } | undefined
  try {
    parsed = JSON.parse(body.toString('utf8')) as { error?: { code?: unknown } } | undefined
  } catch {
    return undefined
  }
  return typeof parsed?.error?.code === 'string' ? parsed.error.code : undefined
}

/**
 * Downloads a task's missing pieces from the parents the scheduler offers: several at once, each
 * piece from one parent chosen by who holds it and how fast it has been. Bytes are hashed and
 * written as they arrive; a piece is recorded only once its digest is the scheduler's, and a
 * parent that sends a bad piece or fails twice is reported, blocklisted and replaced. The loop
 * acts on events (a piece landed or failed, the scheduler answered) and on the deadlines it sets
 * itself (a parent's rest ends, a stall); near the end a piece whose parent stalls moves to another.
 */
export class ParentDownload {
  private readonly parents = new Map<PeerId, ParentState>()
  /** The scheduler's digest of each piece it named: the only digests a piece is checked against. */
  private readonly digests = new Map<number, string>()
  private readonly blocklist = new Set<PeerId>()
  private readonly missing = new Set<number>()
  private readonly inFlight = new Map<number, PieceFetch>()
  /** How many known parents hold each piece, kept as parents come and go, so choosing pieces does not scan every parent. */
  private readonly holders = new Map<number, number>()
  /**
   * The missing pieces some parent holds, in the order they became held: what choosing pieces
   * iterates. Iterating every missing piece instead cost a scan of the whole task per event while
   * parents held little (a child following a seed that still fetches), quadratic in the pieces.
   */
  private readonly held = new Set<number>()
  private readonly running = new Set<Promise<void>>()
  /** Pieces this download stored, each from a parent. */
  storedPieceCount = 0
  /** What parents want to see before they serve this peer, from the scheduler's latest offer. */
  private capability: string | undefined
  /** When this child last asked for a fresh capability, so many parents refusing one costs one request. */
  private capabilityAskedMs = -Infinity
  private outcome: ParentOutcome | undefined
  private failure: DamselflyError | undefined
  private wake: (() => void) | undefined
  private lastProgressMs: number

  constructor(
    private readonly components: {
      readonly pieces: PieceClient
      /** The host-wide download bucket. */
      readonly limiter: TokenBucket
      /** This download's own cap on top of it, if its request set one. */
      readonly taskLimiter?: TokenBucket | undefined
      readonly signals: PieceSignals
      readonly metrics: DaemonMetrics
      readonly logger: Logger
      readonly clock: Clock
    },
    private readonly init: {
      readonly task: StoredTask
      readonly session: PeerSession
      readonly concurrentPieceCount: number
      /** This host's key, to sign requests to parents that serve without TLS; undefined with --insecure. */
      readonly signingKey?: KeyObject | undefined
      /** What this peer asked the origin for: the scheduler may relay the origin's final answer to it. */
      readonly asked: AskedOfSource
    },
  ) {
    this.lastProgressMs = components.clock.nowMs()
  }

  async run(first: Extract<SchedulerAnswer, { kind: 'parents' }>, signal: AbortSignal): Promise<ParentOutcome> {
    const { task } = this.init
    const length = task.descriptor.contentLengthBytes ?? 0
    for (let n = 0; n < pieceCount(length, task.descriptor.pieceLengthBytes); n++) if (task.piece(n) === undefined) this.missing.add(n)
    this.apply(first)
    // Reading ends with the download: without this it would sit out its wait for the next message.
    const doneReading = new AbortController()
    const reading = this.readAnswers(AbortSignal.any([signal, doneReading.signal]))
    // One listener for the whole download rather than a signal combined per piece.
    const abortFetches = (): void => {
      for (const fetch of this.inFlight.values()) fetch.abort.abort(signal.reason)
    }
    signal.addEventListener('abort', abortFetches, { once: true })
    try {
      while (this.missing.size > 0 && this.outcome === undefined && this.failure === undefined && !signal.aborted) {
        const now = this.components.clock.nowMs()
        this.assign(length, now)
        if (this.running.size === 0 && now - this.lastProgressMs > STALL_MS) {
          this.lastProgressMs = now
          this.init.session.reschedule(this.blocklist, 'no progress from the current parents')
        }
        await this.nextEvent(this.nextDeadline(now) - now)
      }
      await Promise.allSettled(this.running)
    } finally {
      this.outcome ??= 'done'
      this.wake?.()
      signal.removeEventListener('abort', abortFetches)
      doneReading.abort()
      await reading
    }
    if (this.failure !== undefined) throw this.failure
    if (signal.aborted) throw toDamselflyError(signal.reason)
    return this.missing.size === 0 ? 'done' : 'back-to-source'
  }

  private async readAnswers(signal: AbortSignal): Promise<void> {
    while (this.missing.size > 0 && this.outcome === undefined && this.failure === undefined && !signal.aborted) {
      const answer = await this.init.session.next(signal, STALL_MS).catch((): typeof SESSION_CLOSED => SESSION_CLOSED)
      if (signal.aborted) return
      if (answer === SESSION_CLOSED) {
        if (this.missing.size > 0) this.components.logger.warn('lost the scheduler during a peer download; going back to source')
        this.outcome ??= 'back-to-source'
      } else if (answer !== undefined) {
        this.apply(answer)
      }
      this.wake?.()
    }
  }

  private apply(answer: SchedulerAnswer): void {
    switch (answer.kind) {
      case 'parents':
        if (answer.capability !== undefined) this.capability = answer.capability
        this.learnDigests(answer.digests)
        for (const parent of answer.parents) this.addParent(parent)
        break
      case 'pieces-available':
        this.learnDigests(answer.digests)
        for (const { peerId, pieceNumbers } of answer.parents) {
          const parent = this.parents.get(peerId)
          if (parent !== undefined) this.addPieces(parent, pieceNumbers)
        }
        break
      case 'back-to-source':
        this.outcome = 'back-to-source'
        break
      case 'schedule-failed':
        this.failure = new DamselflyError('SCHEDULE_FAILED', `the scheduler found no parent: ${answer.reason}`)
        break
      case 'source-failed': {
        const failure = relayedSourceFailure(answer, this.init.asked)
        if (failure !== undefined) this.failure = failure
        else this.outcome = 'back-to-source'
        break
      }
      case 'empty-task':
      case 'tiny-task':
      case 'registered':
        break
    }
  }

  private addParent(candidate: ParentOffer): void {
    if (this.blocklist.has(candidate.peerId)) return
    const known = this.parents.get(candidate.peerId)
    const parent = known ?? {
      peerId: candidate.peerId,
      address: { host: candidate.ip, port: candidate.uploadPort, tls: candidate.uploadTls },
      plain: !candidate.uploadTls,
      pieces: new Set<number>(),
      seed: candidate.seed,
      inFlight: 0,
      failures: 0,
      busyUntilMs: 0,
      deferredUntilMs: new Map<number, number>(),
      speed: 1,
      delivered: 0,
    }
    this.addPieces(parent, candidate.pieceNumbers)
    this.parents.set(parent.peerId, parent)
  }

  /** A later digest of a piece replaces an earlier one: the scheduler sends one again only after it dropped its record. */
  private learnDigests(digests: readonly PieceDigest[]): void {
    for (const { number, digest } of digests) this.digests.set(number, digest)
  }

  /** Only a piece with the scheduler's digest can be checked, so only such a piece is asked of a parent. */
  private addPieces(parent: ParentState, numbers: readonly number[]): void {
    let unchecked = 0
    for (const number of numbers) {
      if (!this.digests.has(number)) unchecked++
      else if (!parent.pieces.has(number)) {
        parent.pieces.add(number)
        this.holders.set(number, (this.holders.get(number) ?? 0) + 1)
        if (this.missing.has(number)) this.held.add(number)
      }
    }
    if (unchecked > 0) this.components.logger.warn({ parent: parent.peerId, pieces: unchecked }, 'the scheduler named pieces without their digests; not fetching them')
  }

  /**
   * Starts pieces until the concurrency is used up. Among the next missing pieces (a window, so
   * readers streaming in order are not starved) the rarest go first, ties broken at random: the
   * children of one seed then fetch different pieces from it and trade the rest among themselves.
   * While a client reads the content in order, the window starts at the piece it needs next and is short.
   */
  private assign(length: number, now: number): void {
    const parents = [...this.parents.values()]
    const window: Array<{ number: number; holders: number; tieBreak: number }> = []
    // Events come far more often than free slots: with none, only the endgame may have work.
    const freeSlots = this.running.size < this.init.concurrentPieceCount
    const awaited = freeSlots ? this.components.signals.readHead() : undefined
    const windowPieces = this.init.concurrentPieceCount * (awaited === undefined ? WINDOW_PER_SLOT : STREAM_WINDOW_PER_SLOT)
    // A reader needs the pieces in order: the missing ones from its head on, ascending, at most a
    // wide window's worth looked at. Otherwise the held ones, each of which can join the window.
    const candidates = awaited === undefined ? this.held : this.missing
    let examined = 0
    for (const number of freeSlots ? candidates : []) {
      if (awaited !== undefined && number < awaited) continue
      if (window.length >= windowPieces || ++examined > this.init.concurrentPieceCount * WINDOW_PER_SLOT) break
      if (this.inFlight.has(number)) continue
      const holders = this.holders.get(number) ?? 0
      if (holders > 0) window.push({ number, holders, tieBreak: Math.random() })
    }
    window.sort((a, b) => a.holders - b.holders || a.tieBreak - b.tieBreak)
    for (const { number } of window) {
      if (this.running.size >= this.init.concurrentPieceCount) break
      const parent = this.pickParent(number, parents, now)
      if (parent !== undefined) this.start(number, parent, length, now)
    }
    if (this.inEndgame) this.moveStalledPieces(parents, now)
  }

  /** The last few missing pieces are all on their way: one slow parent could hold up the whole download. */
  private get inEndgame(): boolean {
    return this.missing.size <= ENDGAME_PIECES && this.missing.size === this.inFlight.size
  }

  /**
   * BitTorrent's endgame, without two writers of one piece: a piece whose parent sent nothing for
   * a while, or that another parent would deliver in well under half the time still left, is
   * given up and asked of that other parent (the slow one rests from it for a moment).
   */
  private moveStalledPieces(parents: readonly ParentState[], now: number): void {
    const length = this.init.task.descriptor.pieceLengthBytes
    for (const [number, fetch] of this.inFlight) {
      const received = fetch.writer?.receivedBytes ?? 0
      if (received !== fetch.seenBytes) {
        fetch.seenBytes = received
        fetch.seenMs = now
      }
      const other = this.pickParent(number, parents.filter((parent) => parent !== fetch.parent), now)
      if (other === undefined) continue
      const stalled = now - fetch.seenMs >= ENDGAME_STALL_MS
      const elapsedMs = Math.max(1, now - fetch.startedMs)
      const leftMs = received === 0 ? Infinity : ((length - received) * elapsedMs) / received
      const slower = other.delivered > 0 && (length / other.speed) * 2 < leftMs
      if (!stalled && !slower) continue
      this.components.logger.debug({ piece: number, from: fetch.parent.peerId, to: other.peerId, stalled }, 'endgame: moving a slow piece to another parent')
      fetch.parent.deferredUntilMs.set(number, now + DEFERRED_BACKOFF_MS)
      fetch.abort.abort()
    }
  }

  /** Of `parents`, the holder of the piece with the least in flight, a seed counting as busier, then the fastest; none if all are resting. */
  private pickParent(number: number, parents: readonly ParentState[], now: number): ParentState | undefined {
    let best: ParentState | undefined
    for (const parent of parents) {
      if (!parent.pieces.has(number) || parent.busyUntilMs > now || (parent.deferredUntilMs.get(number) ?? 0) > now) continue
      if (parent.seed && parent.inFlight >= (this.parents.size === 1 ? LONE_SEED_IN_FLIGHT : SEED_IN_FLIGHT)) continue
      if (best === undefined || load(parent) < load(best) || (load(parent) === load(best) && parent.speed > best.speed)) best = parent
    }
    return best
  }

  private start(number: number, parent: ParentState, length: number, now: number): void {
    const fetch: PieceFetch = { parent, abort: new AbortController(), startedMs: now, writer: undefined, seenBytes: 0, seenMs: now }
    this.inFlight.set(number, fetch)
    parent.inFlight++
    const running: Promise<void> = this.fetch(number, fetch, length, fetch.abort.signal).finally(() => {
      parent.inFlight--
      this.inFlight.delete(number)
      this.running.delete(running)
      this.wake?.()
    })
    this.running.add(running)
  }

  /**
   * When the loop must look again with no event: a resting parent may be asked again, the
   * stall timer runs out, or (in the endgame) pieces in flight are due a check.
   */
  private nextDeadline(now: number): number {
    let deadline = this.running.size === 0 ? this.lastProgressMs + STALL_MS : Infinity
    if (this.inEndgame) deadline = Math.min(deadline, now + ENDGAME_CHECK_MS)
    for (const parent of this.parents.values()) {
      if (parent.busyUntilMs > now) deadline = Math.min(deadline, parent.busyUntilMs)
      for (const [number, until] of parent.deferredUntilMs) {
        if (until <= now) parent.deferredUntilMs.delete(number)
        else if (this.missing.has(number)) deadline = Math.min(deadline, until)
      }
    }
    return Math.max(deadline, now + 1)
  }

  private nextEvent(waitMs: number): Promise<void> {
    return new Promise((resolve) => {
      // No deadline: only an event (a piece settled, the scheduler answered) moves the loop.
      const timer = Number.isFinite(waitMs) ? setTimeout(done, waitMs) : undefined
      function done(): void {
        clearTimeout(timer)
        resolve()
      }
      this.wake = done
    })
  }

  private async fetch(number: number, fetch: PieceFetch, length: number, signal: AbortSignal): Promise<void> {
    const { task, session } = this.init
    const { parent } = fetch
    const taskId = task.descriptor.taskId
    const range = pieceRange(number, length, task.descriptor.pieceLengthBytes)
    try {
      const path = `/download/${taskId.slice(0, 3)}/${taskId}?peerId=${encodeURIComponent(session.peerId)}`
      const headers: Record<string, string> = { range: `bytes=${range.offset}-${range.offset + range.length - 1}` }
      if (this.capability !== undefined) headers[CAPABILITY_HEADER] = this.capability
      const { signingKey } = this.init
      if (parent.plain && signingKey !== undefined) {
        headers[SIGNATURE_HEADER] = signRequest(signingKey, { method: 'GET', path, range: headers.range ?? '' }, this.components.clock.nowMs())
      }
      const writer = task.openPiece(number)
      if (writer === undefined) throw new DamselflyError('INVALID_ARGUMENT', `piece ${number} was stored by another download of this task`)
      fetch.writer = writer
      const answer = await this.components.pieces.get(parent.address, { path, headers }, this.sinkFor(writer, signal), signal)
      if (answer.status === 401 || answer.status === 403) {
        const code = errorCode(answer.body)
        if (code !== 'CAPABILITY_EXPIRED') throw new DamselflyError('PIECE_NOT_FOUND', `parent refused piece ${number}: ${code ?? answer.status}`)
        // The scheduler answers a reschedule with parents and a fresh capability.
        const now = this.components.clock.nowMs()
        parent.busyUntilMs = now + BUSY_BACKOFF_MS
        if (now - this.capabilityAskedMs > STALL_MS) {
          this.capabilityAskedMs = now
          session.reschedule(this.blocklist, 'capability expired')
        }
        return
      }
      if (answer.status === 503) {
        // Busy or deferring this piece, not broken: the piece goes to another parent for a moment.
        const now = this.components.clock.nowMs()
        if (errorCode(answer.body) === 'PIECE_DEFERRED') parent.deferredUntilMs.set(number, now + DEFERRED_BACKOFF_MS)
        else parent.busyUntilMs = now + BUSY_BACKOFF_MS
        return
      }
      if (answer.status !== 206) throw new DamselflyError('PIECE_NOT_FOUND', `parent answered ${answer.status} for piece ${number}`)
      await this.verify(number, fetch, writer, range)
    } catch (error) {
      if (signal.aborted) return
      const failure = toDamselflyError(error)
      session.pieceFailed({ number, parentPeerId: parent.peerId, badContent: false, reason: failure.message })
      if (++parent.failures >= MAX_PARENT_FAILURES) this.drop(parent, failure.message)
    } finally {
      fetch.writer?.abort()
    }
  }

  /** Where a parent's bytes for a piece go: hashed and written as they arrive, paced by the host's download limit and the request's own. */
  private sinkFor(writer: PieceWriter, signal: AbortSignal): PieceSink {
    const limiters = [this.components.limiter, this.components.taskLimiter].filter((bucket): bucket is TokenBucket => bucket !== undefined && bucket.rateBytesPerSecond > 0)
    if (limiters.length === 0) return (chunk) => writer.write(chunk)
    return (chunk) => {
      const written = writer.write(chunk)
      const taken = limiters.filter((bucket) => !bucket.tryTake(chunk.length)).map((bucket) => bucket.take(chunk.length, signal))
      if (taken.length === 0) return written
      return Promise.all([written, ...taken]).then(() => undefined)
    }
  }

  /** Records a piece the parent sent in full if its digest is the scheduler's. */
  private async verify(number: number, fetch: PieceFetch, writer: PieceWriter, range: { offset: number; length: number }): Promise<void> {
    const { session } = this.init
    const { parent } = fetch
    if (writer.receivedBytes !== range.length) throw new DamselflyError('SOURCE_TRUNCATED', `parent sent ${writer.receivedBytes} of ${range.length} bytes of piece ${number}`)
    const digest = await writer.end()
    const expected = this.digests.get(number)
    if (digest !== expected) {
      this.components.logger.warn({ parent: parent.peerId, piece: number, digest, expected }, 'parent sent a piece that fails its digest')
      session.pieceFailed({ number, parentPeerId: parent.peerId, badContent: true, reason: 'digest mismatch' })
      this.drop(parent, 'sent a piece that fails its digest')
      return
    }
    await writer.commit()
    this.storedPieceCount++
    const now = this.components.clock.nowMs()
    const costMs = Math.max(1, now - fetch.startedMs)
    parent.speed = parent.delivered === 0 ? range.length / costMs : parent.speed * 0.7 + (range.length / costMs) * 0.3
    parent.delivered++
    this.missing.delete(number)
    this.held.delete(number)
    this.lastProgressMs = now
    session.reportPiece({ piece: { number, offset: range.offset, length: range.length, digest }, parentPeerId: parent.peerId, costMs })
    this.components.metrics.downloadTrafficBytes.inc({ type: 'remote_peer' }, range.length)
    this.components.metrics.pieceDurationSeconds.observe({ type: 'remote_peer' }, costMs / 1000)
    this.components.signals.ready(number)
  }

  private drop(parent: ParentState, reason: string): void {
    this.parents.delete(parent.peerId)
    for (const number of parent.pieces) {
      const holders = (this.holders.get(number) ?? 1) - 1
      this.holders.set(number, holders)
      if (holders === 0) this.held.delete(number)
    }
    this.blocklist.add(parent.peerId)
    this.init.session.reschedule(this.blocklist, reason)
  }
}
