import type { KeyObject } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Clock } from '../../common/clock.js'
import type { Logger } from '../../common/logger.js'
import type { TokenBucket } from '../../common/token-bucket.js'
import { DamselflyError, toDamselflyError } from '../../protocol/damselfly-error.js'
import type { PeerId } from '../../protocol/ids.js'
import { pieceCount, pieceRange } from '../../protocol/piece.js'
import { PieceListReader } from '../../protocol/piece-list.js'
import { CAPABILITY_HEADER } from '../../security/capability.js'
import { SIGNATURE_HEADER, signRequest } from '../../security/request-signature.js'
import type { StoredTask } from '../../storage/content-store.js'
import type { PieceWriter } from '../../storage/piece-writer.js'
import type { DaemonMetrics } from '../daemon-metrics.js'
import { SESSION_CLOSED, type PeerSession } from '../scheduler-client/peer-session.js'
import type { SchedulerAnswer } from '../scheduler-client/scheduler-answers.js'
import { ParentOffers } from './parent-offers.js'
import type { ParentAddress, PieceClient, PieceSink } from './piece-client.js'
import { PieceChoice, type ChoiceParent } from './piece-choice.js'
import type { PieceSignals } from './piece-signals.js'
import { relayedSourceFailure, type AskedOfSource } from './relayed-source-failure.js'

/** Where a parent is, as the child needs it to ask for pieces. */
interface ParentAddressing {
  readonly address: ParentAddress
  /** It serves without TLS: each request then carries a signature by this host's key. */
  readonly plain: boolean
}

type Parent = ChoiceParent<ParentAddressing>

/** Without progress for this long, the child asks the scheduler for other parents. */
export const STALL_MS = 5_000

/** The one request under way for a piece. */
interface PieceFetch {
  readonly parent: Parent
  readonly abort: AbortController
  readonly startedMs: number
  /** Where the piece's bytes go once the parent answers. */
  writer: PieceWriter | undefined
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
  /** Which piece next, from whom: the rules, apart from the requests. */
  private readonly choice: PieceChoice<ParentAddressing>
  private readonly blocklist = new Set<PeerId>()
  /** The scheduler's parents, their pieces and the digests those are checked against. */
  private readonly offers: ParentOffers<ParentAddressing>
  private readonly inFlight = new Map<number, PieceFetch>()
  private readonly running = new Set<Promise<void>>()
  /** Pieces this download stored, each from a parent. */
  storedPieceCount = 0
  /** What parents want to see before they serve this peer, from the scheduler's latest offer. */
  private capability: string | undefined
  /** When this child last asked for a fresh capability, so many parents refusing one costs one request. */
  private capabilityAskedMs = -Infinity
  /** Each parent's own word of its new pieces (its upload server's piece watch), while the download runs. */
  private readonly watches = new Set<Promise<void>>()
  /** Aborts once the download ends; set by `run`. */
  private watchSignal: AbortSignal | undefined
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
      /** Uniform in [0, 1): breaks ties between equally rare pieces. */
      readonly random?: (() => number) | undefined
    },
  ) {
    this.lastProgressMs = components.clock.nowMs()
    const { descriptor } = init.task
    const missing: number[] = []
    for (let n = 0; n < pieceCount(descriptor.contentLengthBytes ?? 0, descriptor.pieceLengthBytes); n++) if (init.task.piece(n) === undefined) missing.push(n)
    this.choice = new PieceChoice({ concurrentPieceCount: init.concurrentPieceCount, pieceLengthBytes: descriptor.pieceLengthBytes, random: init.random ?? Math.random }, missing)
    this.offers = new ParentOffers({ choice: this.choice }, {
      blocklist: this.blocklist,
      about: (offer) => ({ address: { host: offer.ip, port: offer.uploadPort, tls: offer.uploadTls }, plain: !offer.uploadTls }),
      onParent: (parent) => {
        this.watch(parent)
      },
    })
  }

  async run(first: Extract<SchedulerAnswer, { kind: 'parents' }>, signal: AbortSignal): Promise<ParentOutcome> {
    const { task } = this.init
    const length = task.descriptor.contentLengthBytes ?? 0
    // Reading and watching end with the download: without this they would sit out their waits.
    const doneReading = new AbortController()
    this.watchSignal = AbortSignal.any([signal, doneReading.signal])
    this.apply(first)
    const reading = this.readAnswers(this.watchSignal)
    // One listener for the whole download rather than a signal combined per piece.
    const abortFetches = (): void => {
      for (const fetch of this.inFlight.values()) fetch.abort.abort(signal.reason)
    }
    signal.addEventListener('abort', abortFetches, { once: true })
    try {
      while (this.choice.missingCount > 0 && this.outcome === undefined && this.failure === undefined && !signal.aborted) {
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
      await Promise.all([reading, ...this.watches])
    }
    if (this.failure !== undefined) throw this.failure
    if (signal.aborted) throw toDamselflyError(signal.reason)
    return this.choice.missingCount === 0 ? 'done' : 'back-to-source'
  }

  private async readAnswers(signal: AbortSignal): Promise<void> {
    while (this.choice.missingCount > 0 && this.outcome === undefined && this.failure === undefined && !signal.aborted) {
      const answer = await this.init.session.next(signal, STALL_MS).catch((): typeof SESSION_CLOSED => SESSION_CLOSED)
      if (signal.aborted) return
      if (answer === SESSION_CLOSED) {
        if (this.choice.missingCount > 0) this.components.logger.warn('lost the scheduler during a peer download; going back to source')
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
        this.offers.apply(answer)
        break
      case 'pieces-available':
        this.offers.apply(answer)
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

  /**
   * Starts the pieces the rules choose (piece-choice.ts) until the concurrency is used up, and in
   * the endgame gives up pieces whose parent is slow so they are asked of another.
   */
  private assign(length: number, now: number): void {
    for (const { number, parent } of this.choice.assign(now, () => this.components.signals.readHead())) this.start(number, parent, length, now)
    const moving = this.choice.piecesToMove(now, (number) => this.inFlight.get(number)?.writer?.receivedBytes ?? 0)
    for (const number of moving) {
      const fetch = this.inFlight.get(number)
      this.components.logger.debug({ piece: number, from: fetch?.parent.peerId }, 'endgame: moving a slow piece to another parent')
      fetch?.abort.abort()
    }
  }

  private start(number: number, parent: Parent, length: number, now: number): void {
    const fetch: PieceFetch = { parent, abort: new AbortController(), startedMs: now, writer: undefined }
    this.inFlight.set(number, fetch)
    const running: Promise<void> = this.fetch(number, fetch, length, fetch.abort.signal).finally(() => {
      this.choice.settled(number)
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
    const stallMs = this.running.size === 0 ? this.lastProgressMs + STALL_MS : Infinity
    return Math.max(Math.min(stallMs, this.choice.nextLookMs(now)), now + 1)
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
      const headers = this.requestHeaders(parent, path, `bytes=${range.offset}-${range.offset + range.length - 1}`)
      const writer = task.openPiece(number)
      if (writer === undefined) throw new DamselflyError('INVALID_ARGUMENT', `piece ${number} was stored by another download of this task`)
      fetch.writer = writer
      const answer = await this.components.pieces.get(parent.about.address, { path, headers }, this.sinkFor(writer, signal), signal)
      if (answer.status === 401 || answer.status === 403) {
        const code = errorCode(answer.body)
        if (code !== 'CAPABILITY_EXPIRED') throw new DamselflyError('PIECE_NOT_FOUND', `parent refused piece ${number}: ${code ?? answer.status}`)
        // The scheduler answers a reschedule with parents and a fresh capability.
        const now = this.components.clock.nowMs()
        this.choice.busy(parent, now)
        if (now - this.capabilityAskedMs > STALL_MS) {
          this.capabilityAskedMs = now
          session.reschedule(this.blocklist, 'capability expired')
        }
        return
      }
      if (answer.status === 503) {
        // Busy or deferring this piece, not broken: the piece goes to another parent for a moment.
        const now = this.components.clock.nowMs()
        if (errorCode(answer.body) === 'PIECE_DEFERRED') this.choice.deferred(parent, number, now)
        else this.choice.busy(parent, now)
        return
      }
      if (answer.status !== 206) throw new DamselflyError('PIECE_NOT_FOUND', `parent answered ${answer.status} for piece ${number}`)
      await this.verify(number, fetch, writer, range)
    } catch (error) {
      if (signal.aborted) return
      const failure = toDamselflyError(error)
      session.pieceFailed({ number, parentPeerId: parent.peerId, badContent: false, reason: failure.message })
      if (this.choice.failed(parent)) this.drop(parent, failure.message)
    } finally {
      fetch.writer?.abort()
    }
  }

  /** What a request to `parent` carries: the range, if any, this child's capability, and a signature where the parent serves without TLS. */
  private requestHeaders(parent: Parent, path: string, range: string | undefined): Record<string, string> {
    const headers: Record<string, string> = range === undefined ? {} : { range }
    if (this.capability !== undefined) headers[CAPABILITY_HEADER] = this.capability
    const { signingKey } = this.init
    if (parent.about.plain && signingKey !== undefined) {
      headers[SIGNATURE_HEADER] = signRequest(signingKey, { method: 'GET', path, range: range ?? '' }, this.components.clock.nowMs())
    }
    return headers
  }

  /** Watches which pieces a parent the child took on holds, for as long as the download runs and the parent is kept. */
  private watch(parent: Parent): void {
    const signal = this.watchSignal
    if (signal === undefined || signal.aborted) return
    const watching: Promise<void> = this.watchPieces(parent, signal).finally(() => {
      this.watches.delete(watching)
    })
    this.watches.add(watching)
  }

  /**
   * Reads the parent's list of its pieces (piece-list.ts) as its upload server streams it: those it
   * holds, then each new one as it lands there. A list that breaks off (a parent that sent nothing
   * for the connection's idle timeout, say) is asked for again while the parent is kept, at most
   * once per STALL_MS; a parent that answers it with anything but a list (an older daemon, a
   * refusal) is not watched again: the scheduler's relay of its reports still tells the child of
   * its pieces, a few milliseconds later.
   */
  private async watchPieces(parent: Parent, signal: AbortSignal): Promise<void> {
    const { descriptor } = this.init.task
    const taskId = descriptor.taskId
    const total = pieceCount(descriptor.contentLengthBytes ?? 0, descriptor.pieceLengthBytes)
    const path = `/pieces/${taskId.slice(0, 3)}/${taskId}?peerId=${encodeURIComponent(this.init.session.peerId)}`
    const { clock, logger } = this.components
    while (!signal.aborted && this.choice.parent(parent.peerId) === parent) {
      const startedMs = clock.nowMs()
      const list = new PieceListReader(total)
      const sink: PieceSink = (chunk) => {
        this.offers.announced(parent.peerId, list.read(chunk))
        // With every slot taken the loop has nothing to start: the next piece to settle wakes it.
        if (this.inFlight.size < this.init.concurrentPieceCount) this.wake?.()
        return undefined
      }
      try {
        const answer = await this.components.pieces.get(parent.about.address, { path, headers: this.requestHeaders(parent, path, undefined), bodyStatus: 200 }, sink, signal)
        if (answer.status !== 200) logger.debug({ parent: parent.peerId, status: answer.status, code: errorCode(answer.body) }, 'the parent does not list its pieces; the scheduler relays them')
        // The whole list came: the parent holds every piece.
        return
      } catch (error) {
        if (signal.aborted) return
        logger.debug({ parent: parent.peerId, err: error }, 'a parent\'s list of its pieces broke off')
      }
      await sleep(startedMs + STALL_MS - clock.nowMs(), undefined, { signal }).catch(() => undefined)
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
    const expected = this.offers.digest(number)
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
    this.choice.stored(number, parent, range.length, costMs)
    this.lastProgressMs = now
    session.reportPiece({ piece: { number, offset: range.offset, length: range.length, digest }, parentPeerId: parent.peerId, costMs })
    this.components.metrics.downloadTrafficBytes.inc({ type: 'remote_peer' }, range.length)
    this.components.metrics.pieceDurationSeconds.observe({ type: 'remote_peer' }, costMs / 1000)
    this.components.signals.ready(number)
  }

  private drop(parent: Parent, reason: string): void {
    this.choice.dropParent(parent)
    this.blocklist.add(parent.peerId)
    this.init.session.reschedule(this.blocklist, reason)
  }
}
