import { setMaxListeners } from 'node:events'
import type { Clock } from '../../common/clock.js'
import type { Logger } from '../../common/logger.js'
import type { TokenBucket } from '../../common/token-bucket.js'
import { formatBytes } from '../../common/units.js'
import { DamselflyError, toDamselflyError } from '../../protocol/damselfly-error.js'
import { pieceCount, pieceRange, TINY_TASK_MAX_BYTES } from '../../protocol/piece.js'
import { isFinalSourceStatus } from '../../protocol/source-status.js'
import type { ChunkSink, Source, SourceRequest, SourceStat } from '../../source/source.js'
import type { PieceRecord, StoredTask } from '../../storage/content-store.js'
import type { PieceWriter } from '../../storage/piece-writer.js'
import type { DaemonMetrics } from '../daemon-metrics.js'
import type { PieceSignals } from './piece-signals.js'
import type { SourceSlots } from './source-slots.js'

const RETRY_BASE_DELAY_MS = 200
/**
 * The most one ranged GET to the origin asks for: a run of consecutive pieces, cut into pieces as
 * it arrives. A request per piece cost a registry about as much CPU as the bytes themselves (259
 * requests for a 255 MiB image of 1 MiB pieces), and behind a registry's redirects and tokens each
 * request is a round trip or two more.
 */
export const MAX_SOURCE_RANGE_BYTES = 8 * 1024 * 1024
const NO_CONTENT = Buffer.alloc(0)

/** Pieces `first` to `last`, asked of the origin in one ranged GET. */
export interface SourceRun {
  readonly first: number
  readonly last: number
}

/**
 * Cuts the missing pieces into the runs `workerCount` workers ask the origin for, handing out the
 * next each time it is called (undefined once none is left): consecutive missing pieces, in
 * order, up to {@link MAX_SOURCE_RANGE_BYTES} while much is left, single pieces at the end, so no
 * worker is left with a long run while the others are done.
 */
export function sourceRuns(missing: readonly number[], workerCount: number, pieceLengthBytes: number): () => SourceRun | undefined {
  const maxRunPieces = Math.max(1, Math.floor(MAX_SOURCE_RANGE_BYTES / pieceLengthBytes))
  let next = 0
  return () => {
    const first = missing[next]
    if (first === undefined) return undefined
    const runPieces = Math.min(maxRunPieces, Math.max(1, Math.floor((missing.length - next) / workerCount)))
    let last = first
    next++
    while (last - first + 1 < runPieces && missing[next] === last + 1) {
      last++
      next++
    }
    return { first, last }
  }
}

function isTransient(error: DamselflyError): boolean {
  switch (error.code) {
    case 'SOURCE_UNREACHABLE':
    case 'SOURCE_TIMEOUT':
    case 'SOURCE_TRUNCATED':
      return true
    case 'SOURCE_STATUS': {
      const status = error.details.sourceStatus ?? 0
      return status >= 500 || (status >= 400 && !isFinalSourceStatus(status))
    }
    // The policy refuses the same address again; a retry would only repeat the refusal.
    case 'SOURCE_NOT_ALLOWED':
      return false
    default:
      return false
  }
}

export interface SourceFetcherComponents {
  readonly source: Source
  /**
   * Host-wide buckets: every received byte takes from `download`, origin bytes also from `source`;
   * `task`, when given, is this download's own cap on top of them.
   */
  readonly limiters: { readonly download: TokenBucket; readonly source: TokenBucket; readonly task?: TokenBucket | undefined }
  /** Host-wide, per origin: each run of pieces holds one while its request is under way. */
  readonly sourceSlots: SourceSlots
  /** Makes room for `neededBytes` on disk (evicting if it may) or fails with NO_SPACE. */
  readonly ensureSpace: (neededBytes: number) => Promise<void>
  readonly signals: PieceSignals
  readonly metrics: DaemonMetrics
  readonly logger: Logger
  readonly clock: Clock
  /** Each stored piece, for the scheduler: its record, what it cost, and its bytes if the task is tiny. */
  readonly report: (piece: PieceRecord, costMs: number, content: Buffer) => void
}

/**
 * Back-to-source for one task: several concurrent ranged piece GETs, each piece hashed and
 * written at its offset as its bytes arrive, readers told as each piece lands, transient failures retried with
 * backoff. Origins without ranges or length are read in one stream, cut into pieces.
 */
export class SourceFetcher {
  /** Bytes read by {@link SourceFetcher.fetchWhole}: the length of content that announced none. */
  streamedBytes = 0

  constructor(
    private readonly components: SourceFetcherComponents,
    private readonly init: {
      readonly url: URL
      readonly headers: Readonly<Record<string, string>>
      readonly concurrentPieceCount: number
      /** Extra attempts for a request after a transient origin failure. */
      readonly retryCount: number
      readonly signal: AbortSignal
    },
  ) {}

  stat(): Promise<SourceStat> {
    return this.withRetry('stat', () => this.components.source.stat(this.sourceRequest(this.init.signal)))
  }

  async fetchPieces(task: StoredTask, length: number, rangeSupported: boolean): Promise<void> {
    const pieceLength = task.descriptor.pieceLengthBytes
    const missing: number[] = []
    for (let n = 0; n < pieceCount(length, pieceLength); n++) if (task.piece(n) === undefined) missing.push(n)
    // An origin that did not advertise ranges gets one piece alone first, so that ignoring Range
    // costs one response, not one per worker.
    if (!rangeSupported && missing.length > 0) {
      const first = missing.shift() ?? 0
      try {
        await this.fetchPiece(task, first, length)
      } catch (error) {
        if (toDamselflyError(error).code !== 'SOURCE_RANGE_UNSUPPORTED') throw error
        this.components.logger.info('origin ignores range requests; downloading the whole content in one stream')
        await this.fetchWhole(task)
        return
      }
    }
    const workerController = new AbortController()
    const signal = AbortSignal.any([this.init.signal, workerController.signal])
    // Every piece request listens on this one signal.
    setMaxListeners(0, signal)
    const failures: unknown[] = []
    const workerCount = Math.min(this.init.concurrentPieceCount, missing.length)
    const nextRun = sourceRuns(missing, workerCount, pieceLength)
    const worker = async (): Promise<void> => {
      for (let run = nextRun(); run !== undefined && !signal.aborted; run = nextRun()) {
        try {
          const release = await this.components.sourceSlots.acquire(this.init.url.origin, signal)
          try {
            await this.fetchRun(task, run, length, signal)
          } finally {
            release()
          }
        } catch (error) {
          failures.push(error)
          workerController.abort(error)
        }
      }
    }
    await Promise.all(Array.from({ length: workerCount }, worker))
    if (failures.length > 0 && toDamselflyError(failures[0]).code === 'SOURCE_RANGE_UNSUPPORTED' && !this.init.signal.aborted) {
      // It advertised ranges and then ignored them: read it in one stream after all.
      this.components.logger.info('origin ignores range requests; downloading the whole content in one stream')
      await this.fetchWhole(task)
      return
    }
    if (failures.length > 0) throw failures[0]
    if (this.init.signal.aborted) throw toDamselflyError(this.init.signal.reason)
  }

  private async fetchPiece(task: StoredTask, number: number, length: number, signal = this.init.signal): Promise<void> {
    await this.fetchRun(task, { first: number, last: number }, length, signal)
  }

  /**
   * Pieces `first` to `last` in one ranged GET, each written, committed, reported and signalled as
   * soon as its last byte arrived. A retry asks only from the first piece not stored yet, so the
   * origin sends each byte about once.
   */
  private async fetchRun(task: StoredTask, run: SourceRun, length: number, signal = this.init.signal): Promise<void> {
    const pieceLength = task.descriptor.pieceLengthBytes
    await this.withRetry('range', async () => {
      let number = run.first
      // Stored meanwhile (an earlier attempt got them, a restart resumed them, or a reader's request raced this one).
      while (number <= run.last && task.piece(number) !== undefined) {
        this.components.signals.ready(number)
        number++
      }
      if (number > run.last) return
      const firstRange = pieceRange(number, length, pieceLength)
      const lastRange = pieceRange(run.last, length, pieceLength)
      let writer = task.openPiece(number)
      try {
        let startedMs = this.components.clock.nowMs()
        const response = await this.components.source.fetchRange(this.sourceRequest(signal), {
          offset: firstRange.offset,
          length: lastRange.offset + lastRange.length - firstRange.offset,
        })
        // A tiny task's bytes go to the scheduler too, which answers later peers with them.
        const tiny: Buffer[] | undefined = length <= TINY_TASK_MAX_BYTES ? [] : undefined
        let range = firstRange
        let filled = 0
        let complete = false
        const finishPiece = async (): Promise<void> => {
          if (writer !== undefined) {
            const digest = await writer.end()
            await writer.commit()
            const now = this.components.clock.nowMs()
            const costMs = now - startedMs
            startedMs = now
            this.components.report({ number, offset: range.offset, length: range.length, digest }, costMs, tiny === undefined ? NO_CONTENT : Buffer.concat(tiny))
            this.components.metrics.pieceDurationSeconds.observe({ type: 'back_to_source' }, costMs / 1000)
            this.components.metrics.downloadTrafficBytes.inc({ type: 'back_to_source' }, range.length)
          }
          this.components.signals.ready(number)
          if (number === run.last) {
            complete = true
            return
          }
          number++
          range = pieceRange(number, length, pieceLength)
          filled = 0
          // Undefined when stored meanwhile by a reader's request: its bytes are read past.
          writer = task.openPiece(number)
        }
        // Cuts `chunk` into the pieces it belongs to without waiting while it can; when a write or
        // a finished piece must land first, a promise that then places the rest.
        const place = (chunk: Buffer): Promise<void> | undefined => {
          while (chunk.length > 0) {
            if (complete) throw new DamselflyError('SOURCE_TRUNCATED', `origin sent more than the ${lastRange.offset + lastRange.length - firstRange.offset} bytes asked for`)
            const part = chunk.length <= range.length - filled ? chunk : chunk.subarray(0, range.length - filled)
            const rest = part === chunk ? NO_CONTENT : chunk.subarray(part.length)
            chunk = rest
            filled += part.length
            let written: Promise<void> | undefined
            if (writer !== undefined) {
              tiny?.push(Buffer.from(part))
              written = writer.write(part)
            }
            if (filled === range.length) return (written ?? Promise.resolve()).then(finishPiece).then(() => place(rest))
            if (written !== undefined) return written.then(() => place(rest))
          }
          return undefined
        }
        await response.body.pipeTo(this.throttled(place, signal))
        if (!complete) throw new DamselflyError('SOURCE_TRUNCATED', `origin ended the range before piece ${number} was whole`)
      } finally {
        writer?.abort()
      }
    }, signal)
  }

  /** The whole content in one response, cut into pieces as it arrives: for origins without length or ranges. */
  async fetchWhole(task: StoredTask): Promise<void> {
    const pieceLength = task.descriptor.pieceLengthBytes
    const unknownLength = task.descriptor.contentLengthBytes === undefined
    await this.withRetry('whole', async () => {
      const response = await this.components.source.fetch(this.sourceRequest(this.init.signal))
      let writer: PieceWriter | undefined
      // Pieces of a restarted stream that are stored already are read past, not written again.
      let skipping = false
      let number = 0
      this.streamedBytes = 0
      const startPiece = async (): Promise<void> => {
        // Content of unknown length could not be measured against the disk before it started, so each piece is.
        if (unknownLength) await this.ensureSpaceFor(number * pieceLength, pieceLength)
        writer = task.openPiece(number)
        skipping = writer === undefined
      }
      const endPiece = async (filled: number): Promise<void> => {
        if (writer !== undefined) {
          const digest = await writer.end()
          await writer.commit()
          this.components.report({ number, offset: number * pieceLength, length: filled, digest }, 0, NO_CONTENT)
          this.components.metrics.downloadTrafficBytes.inc({ type: 'back_to_source' }, filled)
        }
        this.components.signals.ready(number)
        writer = undefined
        number++
      }
      try {
        let filled = 0
        // As fetchRun's: without waiting while it can, else a promise that then places the rest.
        const place = (chunk: Buffer): Promise<void> | undefined => {
          while (chunk.length > 0) {
            if (filled === 0 && writer === undefined && !skipping) return startPiece().then(() => place(chunk))
            const part = chunk.subarray(0, pieceLength - filled)
            const rest = chunk.subarray(part.length)
            chunk = rest
            filled += part.length
            this.streamedBytes += part.length
            const written = writer?.write(part)
            if (filled === pieceLength) {
              return (written ?? Promise.resolve()).then(() => endPiece(filled)).then(() => {
                filled = 0
                skipping = false
                return place(rest)
              })
            }
            if (written !== undefined) return written.then(() => place(rest))
          }
          return undefined
        }
        await response.body.pipeTo(this.throttled(place, this.init.signal))
        if (filled > 0) await endPiece(filled)
      } finally {
        writer?.abort()
      }
    })
  }

  /** Makes room for the next piece of content of unknown length: the download stops at the reserved space, not at a full disk. */
  private async ensureSpaceFor(storedBytes: number, pieceBytes: number): Promise<void> {
    try {
      await this.components.ensureSpace(pieceBytes)
    } catch (error) {
      const failure = toDamselflyError(error)
      if (failure.code !== 'NO_SPACE') throw failure
      throw new DamselflyError('NO_SPACE', `the disk is full after ${formatBytes(storedBytes)} of content of unknown length: ${failure.message}`, { cause: failure })
    }
  }

  /** Whether any bucket limits this host; when none does, the hot path awaits nothing per chunk. */
  private get limited(): boolean {
    const { download, source, task } = this.components.limiters
    return download.rateBytesPerSecond > 0 || source.rateBytesPerSecond > 0 || (task?.rateBytesPerSecond ?? 0) > 0
  }

  /** `sink`, each chunk first taking its bytes from the rate limits when any is set; `sink` itself when none is. */
  private throttled(sink: ChunkSink, signal: AbortSignal): ChunkSink {
    return this.limited ? (chunk) => this.throttle(chunk.length, signal).then(() => sink(chunk)) : sink
  }

  private async throttle(bytes: number, signal: AbortSignal): Promise<void> {
    const { download, source, task } = this.components.limiters
    if (task !== undefined && !task.tryTake(bytes)) await task.take(bytes, signal)
    if (!download.tryTake(bytes)) await download.take(bytes, signal)
    if (!source.tryTake(bytes)) await source.take(bytes, signal)
  }

  private sourceRequest(signal: AbortSignal): SourceRequest {
    return { url: this.init.url, headers: this.init.headers, signal }
  }

  private async withRetry<T>(kind: 'stat' | 'range' | 'whole', attempt: () => Promise<T>, signal = this.init.signal): Promise<T> {
    for (let tries = 0; ; tries++) {
      this.components.metrics.sourceRequests.inc({ kind })
      try {
        return await attempt()
      } catch (error) {
        const failure = toDamselflyError(error)
        if (signal.aborted) throw toDamselflyError(signal.reason)
        if (tries >= this.init.retryCount || !isTransient(failure)) throw failure
        const delayMs = RETRY_BASE_DELAY_MS * 2 ** tries
        this.components.logger.warn({ err: failure, kind, attempt: tries + 1, delayMs }, 'source request failed, retrying')
        await this.components.clock.sleep(delayMs, signal)
      }
    }
  }
}
