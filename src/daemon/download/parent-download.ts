import { createHash, type KeyObject } from 'node:crypto'
import type { Dispatcher } from 'undici'
import type { Clock } from '../../common/clock.js'
import type { Logger } from '../../common/logger.js'
import type { TokenBucket } from '../../common/token-bucket.js'
import { DamselflyError, toDamselflyError } from '../../protocol/damselfly-error.js'
import type { CandidateParent, Piece } from '../../protocol/generated/damselfly/scheduler/v1/scheduler.js'
import { pieceCount, pieceRange } from '../../protocol/piece.js'
import { CAPABILITY_HEADER } from '../../security/capability.js'
import { SIGNATURE_HEADER, signRequest } from '../../security/request-signature.js'
import type { StoredTask } from '../../storage/content-store.js'
import type { DaemonMetrics } from '../daemon-metrics.js'
import { SESSION_CLOSED, type PeerResponse, type PeerSession } from '../scheduler/peer-session.js'
import type { PieceSignals } from './piece-signals.js'
import { relayedSourceFailure, type AskedOfSource } from './relayed-source-failure.js'

/** A parent as this child sees it: where it is, what it holds (with the scheduler's digests), how it did. */
interface ParentState {
  readonly peerId: string
  readonly baseUrl: string
  /** It serves without TLS: each request then carries a signature by this host's key. */
  readonly plain: boolean
  readonly pieces: Map<number, string>
  readonly seed: boolean
  inFlight: number
  failures: number
  /** It answered busy; not asked again before this time. */
  busyUntilMs: number
  /** Pieces it deferred (a seed sending other pieces first), each with when to ask again. */
  readonly deferredUntilMs: Map<number, number>
  /** Smoothed bytes per millisecond of its recent pieces; higher is better. */
  speed: number
}

/** Without progress for this long, the child asks the scheduler for other parents. */
const STALL_MS = 5_000
const MAX_PARENT_FAILURES = 2
const NO_CONTENT = Buffer.alloc(0)
/** How long a parent that answered busy is left alone. */
const BUSY_BACKOFF_MS = 200
/** How long a piece a seed deferred is left to other parents before the seed is asked again. */
const DEFERRED_BACKOFF_MS = 1_000
/** Missing pieces considered per free slot when choosing what to fetch next. */
const WINDOW_PER_SLOT = 16
/** Missing pieces at most, all in flight, for the endgame's second requests. */
const ENDGAME_PIECES = 2
/** A seed peer counts as this many pieces busier: other peers serve what they hold first. */
const SEED_LOAD_PENALTY = 2
/**
 * Pieces one child fetches from a seed peer at once. Every child of the task shares the seed's
 * uplink, so more in flight would not make it faster; one at a time keeps the seed handing each
 * child different pieces, which the children then trade, instead of serving everyone everything.
 */
const SEED_IN_FLIGHT = 1

/** One request for a piece. Near the end a piece may have two, and the first to land wins. */
interface PieceFetch {
  readonly parent: ParentState
  readonly abort: AbortController
}

function load(parent: ParentState): number {
  return parent.inFlight + (parent.seed ? SEED_LOAD_PENALTY : 0)
}

export type ParentOutcome = 'done' | 'back-to-source'

/** The `error.code` of a parent's JSON error body, if it has one. */
async function errorCode(body: Dispatcher.ResponseData['body']): Promise<string | undefined> {
  const parsed = (await body.json().catch(() => undefined)) as { error?: { code?: unknown } } | undefined
  return typeof parsed?.error?.code === 'string' ? parsed.error.code : undefined
}

/**
 * Downloads a task's missing pieces from the parents the scheduler offers: several at once, each
 * piece from one parent chosen by who holds it and how fast it has been (the last two pieces from
 * two, whichever lands first). Every piece is checked
 * against the scheduler's digest before it is stored; a parent that sends a bad piece or fails
 * twice is reported, blocklisted and replaced.
 */
export class ParentDownload {
  private readonly parents = new Map<string, ParentState>()
  private readonly blocklist = new Set<string>()
  private readonly missing = new Set<number>()
  private readonly inFlight = new Map<number, PieceFetch[]>()
  private readonly running = new Set<Promise<void>>()
  /** Pieces being written: a second copy arriving meanwhile is dropped. */
  private readonly writing = new Set<number>()
  /** Pieces this download stored, each from a parent. */
  storedPieceCount = 0
  /** What parents want to see before they serve this peer, from the scheduler's latest offer. */
  private capability = ''
  /** When this child last asked for a fresh capability, so many parents refusing one costs one request. */
  private capabilityAskedMs = -Infinity
  private outcome: ParentOutcome | undefined
  private failure: DamselflyError | undefined
  private wake: (() => void) | undefined
  private lastProgressMs: number

  constructor(
    private readonly components: {
      readonly http: Dispatcher
      readonly limiter: TokenBucket
      readonly signals: PieceSignals
      readonly metrics: DaemonMetrics
      readonly logger: Logger
      readonly clock: Clock
    },
    private readonly init: {
      readonly task: StoredTask
      readonly session: PeerSession
      readonly peerId: string
      readonly concurrentPieceCount: number
      /** This host's key, to sign requests to parents that serve without TLS; undefined with --insecure. */
      readonly signingKey?: KeyObject | undefined
      /** What this peer asked the origin for: the scheduler may relay the origin's final answer to it. */
      readonly asked: AskedOfSource
    },
  ) {
    this.lastProgressMs = components.clock.nowMs()
  }

  async run(first: PeerResponse, signal: AbortSignal): Promise<ParentOutcome> {
    const { task } = this.init
    const length = task.descriptor.contentLengthBytes ?? 0
    for (let n = 0; n < pieceCount(length, task.descriptor.pieceLengthBytes); n++) if (task.piece(n) === undefined) this.missing.add(n)
    this.apply(first)
    // Reading ends with the download: without this it would sit out its wait for the next message.
    const doneReading = new AbortController()
    const reading = this.readResponses(AbortSignal.any([signal, doneReading.signal]))
    try {
      while (this.missing.size > 0 && this.outcome === undefined && this.failure === undefined && !signal.aborted) {
        this.assign(length, signal)
        if (this.running.size === 0 && this.components.clock.nowMs() - this.lastProgressMs > STALL_MS) {
          this.lastProgressMs = this.components.clock.nowMs()
          this.init.session.send({ $case: 'reschedule', value: { blocklist: [...this.blocklist], reason: 'no progress from the current parents' } })
        }
        await this.nextEvent()
      }
      await Promise.allSettled(this.running)
    } finally {
      this.outcome ??= 'done'
      this.wake?.()
      doneReading.abort()
      await reading
    }
    if (this.failure !== undefined) throw this.failure
    if (signal.aborted) throw toDamselflyError(signal.reason)
    return this.missing.size === 0 ? 'done' : 'back-to-source'
  }

  private async readResponses(signal: AbortSignal): Promise<void> {
    while (this.missing.size > 0 && this.outcome === undefined && this.failure === undefined && !signal.aborted) {
      const response = await this.init.session.next(signal, 1_000).catch((): typeof SESSION_CLOSED => SESSION_CLOSED)
      if (signal.aborted) return
      if (response === SESSION_CLOSED) {
        if (this.missing.size > 0) this.components.logger.warn('lost the scheduler during a peer download; going back to source')
        this.outcome ??= 'back-to-source'
      } else if (response !== undefined) {
        this.apply(response)
      }
      this.wake?.()
    }
  }

  private apply(response: PeerResponse): void {
    switch (response.$case) {
      case 'normalTask':
        if (response.value.capability !== '') this.capability = response.value.capability
        for (const parent of response.value.parents) this.addParent(parent)
        break
      case 'piecesAvailable': {
        const parent = this.parents.get(response.value.parentPeerId)
        for (const piece of response.value.pieces) parent?.pieces.set(piece.number, piece.digest)
        break
      }
      case 'needBackToSource':
        this.outcome = 'back-to-source'
        break
      case 'scheduleFailed':
        this.failure = new DamselflyError('SCHEDULE_FAILED', `the scheduler found no parent: ${response.value.reason}`)
        break
      case 'sourceFailed': {
        const failure = relayedSourceFailure(response.value, this.init.asked)
        if (failure !== undefined) this.failure = failure
        else this.outcome = 'back-to-source'
        break
      }
      case 'emptyTask':
      case 'registered':
        break
    }
  }

  private addParent(candidate: CandidateParent): void {
    if (this.blocklist.has(candidate.peerId)) return
    const known = this.parents.get(candidate.peerId)
    const parent = known ?? {
      peerId: candidate.peerId,
      baseUrl: `${candidate.uploadTls ? 'https' : 'http'}://${candidate.ip.includes(':') ? `[${candidate.ip}]` : candidate.ip}:${candidate.uploadPort}`,
      plain: !candidate.uploadTls,
      pieces: new Map<number, string>(),
      seed: candidate.seed,
      inFlight: 0,
      failures: 0,
      busyUntilMs: 0,
      deferredUntilMs: new Map<number, number>(),
      speed: 1,
    }
    for (const piece of candidate.pieces) parent.pieces.set(piece.number, piece.digest)
    this.parents.set(parent.peerId, parent)
  }

  /**
   * Starts pieces until the concurrency is used up. Among the next missing pieces (a window, so
   * readers streaming in order are not starved) the rarest go first, ties broken at random: the
   * children of one seed then fetch different pieces from it and trade the rest among themselves.
   */
  private assign(length: number, signal: AbortSignal): void {
    const parents = [...this.parents.values()]
    const window: Array<{ number: number; holders: number; tieBreak: number }> = []
    for (const number of this.missing) {
      if (window.length >= this.init.concurrentPieceCount * WINDOW_PER_SLOT) break
      if (this.inFlight.has(number)) continue
      let holders = 0
      for (const parent of parents) if (parent.pieces.has(number)) holders++
      if (holders > 0) window.push({ number, holders, tieBreak: Math.random() })
    }
    window.sort((a, b) => a.holders - b.holders || a.tieBreak - b.tieBreak)
    const now = this.components.clock.nowMs()
    for (const { number } of window) {
      if (this.running.size >= this.init.concurrentPieceCount) return
      const parent = this.pickParent(number, parents, now)
      if (parent !== undefined) this.start(number, parent, length, signal)
    }
    this.endgame(length, signal, now)
  }

  /**
   * BitTorrent's endgame: once the last few missing pieces are all on their way, each is asked of
   * a second parent too, so one slow parent does not hold up the whole download. Pieces are large,
   * so only the last ENDGAME_PIECES get a second request.
   */
  private endgame(length: number, signal: AbortSignal, now: number): void {
    if (this.missing.size > ENDGAME_PIECES || this.missing.size > this.inFlight.size) return
    for (const [number, fetches] of this.inFlight) {
      if (this.running.size >= this.init.concurrentPieceCount) return
      if (fetches.length > 1) continue
      const others = [...this.parents.values()].filter((parent) => fetches.every((fetch) => fetch.parent !== parent))
      const parent = this.pickParent(number, others, now)
      if (parent !== undefined) this.start(number, parent, length, signal)
    }
  }

  /** Of `parents`, the holder of the piece with the least in flight, a seed counting as busier, then the fastest; none if all are resting. */
  private pickParent(number: number, parents: readonly ParentState[], now: number): ParentState | undefined {
    let best: ParentState | undefined
    for (const parent of parents) {
      if (!parent.pieces.has(number) || parent.busyUntilMs > now || (parent.deferredUntilMs.get(number) ?? 0) > now) continue
      if (parent.seed && parent.inFlight >= SEED_IN_FLIGHT) continue
      if (best === undefined || load(parent) < load(best) || (load(parent) === load(best) && parent.speed > best.speed)) best = parent
    }
    return best
  }

  private start(number: number, parent: ParentState, length: number, signal: AbortSignal): void {
    const fetch: PieceFetch = { parent, abort: new AbortController() }
    this.inFlight.set(number, [...(this.inFlight.get(number) ?? []), fetch])
    parent.inFlight++
    const running: Promise<void> = this.fetch(number, parent, length, AbortSignal.any([signal, fetch.abort.signal])).finally(() => {
      parent.inFlight--
      const others = (this.inFlight.get(number) ?? []).filter((other) => other !== fetch)
      if (others.length === 0) this.inFlight.delete(number)
      else this.inFlight.set(number, others)
      this.running.delete(running)
      this.wake?.()
    })
    this.running.add(running)
  }

  private nextEvent(): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, 500)
      function done(): void {
        clearTimeout(timer)
        resolve()
      }
      this.wake = done
    })
  }

  private async fetch(number: number, parent: ParentState, length: number, signal: AbortSignal): Promise<void> {
    const { task, session, peerId } = this.init
    const taskId = task.descriptor.taskId
    const range = pieceRange(number, length, task.descriptor.pieceLengthBytes)
    const expected = parent.pieces.get(number) ?? ''
    const startedMs = this.components.clock.nowMs()
    try {
      const path = `/download/${taskId.slice(0, 3)}/${taskId}?peerId=${encodeURIComponent(peerId)}`
      const headers: Record<string, string> = { range: `bytes=${range.offset}-${range.offset + range.length - 1}` }
      if (this.capability !== '') headers[CAPABILITY_HEADER] = this.capability
      const { signingKey } = this.init
      if (parent.plain && signingKey !== undefined) {
        headers[SIGNATURE_HEADER] = signRequest(signingKey, { method: 'GET', path, range: headers.range ?? '' }, this.components.clock.nowMs())
      }
      const response = await this.components.http.request({ origin: parent.baseUrl, path, method: 'GET', headers, signal })
      if (response.statusCode === 401 || response.statusCode === 403) {
        const code = await errorCode(response.body)
        if (code !== 'CAPABILITY_EXPIRED') throw new DamselflyError('PIECE_NOT_FOUND', `parent refused piece ${number}: ${code ?? response.statusCode}`)
        // The scheduler answers a reschedule with parents and a fresh capability.
        const now = this.components.clock.nowMs()
        parent.busyUntilMs = now + BUSY_BACKOFF_MS
        if (now - this.capabilityAskedMs > STALL_MS) {
          this.capabilityAskedMs = now
          session.send({ $case: 'reschedule', value: { blocklist: [...this.blocklist], reason: 'capability expired' } })
        }
        return
      }
      if (response.statusCode === 503) {
        // Busy or deferring this piece, not broken: the piece goes to another parent for a moment.
        const deferred = await errorCode(response.body) === 'PIECE_DEFERRED'
        const now = this.components.clock.nowMs()
        if (deferred) parent.deferredUntilMs.set(number, now + DEFERRED_BACKOFF_MS)
        else parent.busyUntilMs = now + BUSY_BACKOFF_MS
        return
      }
      if (response.statusCode !== 206) {
        await response.body.dump()
        throw new DamselflyError('PIECE_NOT_FOUND', `parent answered ${response.statusCode} for piece ${number}`)
      }
      const hash = createHash('sha256')
      const chunks: Buffer[] = []
      let received = 0
      const limited = this.components.limiter.rateBytesPerSecond > 0
      for await (const chunk of response.body as AsyncIterable<Buffer>) {
        if (limited) await this.components.limiter.take(chunk.length, signal)
        hash.update(chunk)
        chunks.push(chunk)
        received += chunk.length
      }
      if (received !== range.length) throw new DamselflyError('SOURCE_TRUNCATED', `parent sent ${received} of ${range.length} bytes of piece ${number}`)
      const digest = hash.digest('hex')
      if (digest !== expected) {
        this.components.logger.warn({ parent: parent.peerId, piece: number, digest, expected }, 'parent sent a piece that fails its digest')
        session.send({ $case: 'pieceFailed', value: { number, parentPeerId: parent.peerId, badContent: true, reason: 'digest mismatch' } })
        this.drop(parent, 'sent a piece that fails its digest')
        return
      }
      // The other copy of an endgame piece got here first.
      if (!this.missing.has(number) || this.writing.has(number)) return
      this.writing.add(number)
      try {
        await task.writePiece(number, chunks, digest)
      } finally {
        this.writing.delete(number)
      }
      this.storedPieceCount++
      const costMs = Math.max(1, this.components.clock.nowMs() - startedMs)
      parent.speed = parent.speed * 0.7 + (range.length / costMs) * 0.3
      this.missing.delete(number)
      for (const other of this.inFlight.get(number) ?? []) if (other.parent !== parent) other.abort.abort()
      this.lastProgressMs = this.components.clock.nowMs()
      const piece: Piece = { number, offset: range.offset, length: range.length, digest }
      session.send({ $case: 'pieceFinished', value: { piece, parentPeerId: parent.peerId, costMs, content: NO_CONTENT } })
      this.components.logger.debug({ piece: number, parent: parent.peerId, seed: parent.seed, costMs }, 'piece from parent')
      this.components.metrics.downloadTrafficBytes.inc({ type: 'remote_peer' }, range.length)
      this.components.metrics.pieceDurationSeconds.observe({ type: 'remote_peer' }, costMs / 1000)
      this.components.signals.ready(number)
    } catch (error) {
      if (signal.aborted) return
      const failure = toDamselflyError(error)
      session.send({ $case: 'pieceFailed', value: { number, parentPeerId: parent.peerId, badContent: false, reason: failure.message } })
      if (++parent.failures >= MAX_PARENT_FAILURES) this.drop(parent, failure.message)
    }
  }

  private drop(parent: ParentState, reason: string): void {
    this.parents.delete(parent.peerId)
    this.blocklist.add(parent.peerId)
    this.init.session.send({ $case: 'reschedule', value: { blocklist: [...this.blocklist], reason } })
  }
}
