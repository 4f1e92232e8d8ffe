import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { createServer as createTlsServer, Server as TlsServer } from 'node:https'
import type { TlsOptions } from 'node:tls'
import { contentRange, parseRangeHeader } from '../../common/http-range.js'
import { closeServer, hangUpSignal, listen, sendError, writeChunk } from '../../common/http-server.js'
import type { Logger } from '../../common/logger.js'
import type { Startable } from '../../common/startable.js'
import type { TokenBucket } from '../../common/token-bucket.js'
import { DamselflyError } from '../../protocol/damselfly-error.js'
import { isTaskId } from '../../protocol/ids.js'
import { pieceCount, piecesCovering } from '../../protocol/piece.js'
import { encodePieceList, PIECE_LIST_ENTRY_BYTES } from '../../protocol/piece-list.js'
import type { ContentStore, StoredTask } from '../../storage/content-store.js'
import type { DaemonMetrics } from '../daemon-metrics.js'
import type { PieceAccess, PieceGrant } from './piece-access.js'
import { PieceSpread } from './piece-spread.js'


/**
 * How long a child's idle connection stays open. Children keep theirs a little less
 * (`PIECE_CLIENT_DEFAULTS.keepAliveMs`), so they close first and never send a request on a
 * connection this server is closing; an idle connection costs a socket, not a handshake per piece.
 */
export const UPLOAD_KEEP_ALIVE_TIMEOUT_MS = 60_000

/** Dragonfly's upload path: `/download/<first 3 of task id>/<task id>?peerId=<child>`. */
const DOWNLOAD_PATH = /^\/download\/([0-9a-f]{3})\/([0-9a-f]{64})$/
/** A child's watch of the pieces this host holds of a task: `/pieces/<first 3 of task id>/<task id>?peerId=<child>`. */
const PIECES_PATH = /^\/pieces\/([0-9a-f]{3})\/([0-9a-f]{64})$/

/** Watches held open at once; beyond, a child is refused and learns of this host's pieces from the scheduler alone. */
export const MAX_PIECE_WATCHES = 4096

/**
 * Serves the pieces this host holds to other peers: ranged GETs over HTTP/1.1 keep-alive (TLS by
 * default), paced by the host's upload bucket, each to a child its access rule lets in. A child
 * also watches which pieces this host holds (`/pieces/...`: the list of them, then each new one as
 * it is recorded), so it hears of a new piece one latency after it lands here, not after the
 * scheduler relays this host's report.
 */
export class UploadServer implements Startable {
  private readonly server: Server
  private boundAddress = ''
  private uploading = 0
  private watching = 0
  /** Aborts once the server stops: the piece lists it streams end then, rather than hold the close up. */
  private readonly stopping = new AbortController()
  /** Present on a seed peer: each piece goes out once before any goes out twice. */
  private readonly spread: PieceSpread | undefined

  constructor(
    private readonly components: { store: ContentStore; limiter: TokenBucket; access: PieceAccess; metrics: DaemonMetrics; logger: Logger },
    private readonly init: {
      host: string
      port: number
      /** Serve over TLS with these options (the host's certificate, client certificates demanded); plain HTTP without. */
      tls: TlsOptions | undefined
      disableShared: boolean
      concurrentLimit: number
      /** Set on a seed peer: pieces of one task it sends at once, each piece once before any twice. */
      seedUploadsPerTask: number | undefined
      /** Piece lists it streams at once; MAX_PIECE_WATCHES unless set. */
      maxPieceWatches?: number
    },
  ) {
    this.spread = init.seedUploadsPerTask === undefined ? undefined : new PieceSpread({ uploadsPerTask: init.seedUploadsPerTask })
    const handle = (req: IncomingMessage, res: ServerResponse): void => {
      this.route(req, res).catch((error: unknown) => {
        const failure = sendError(res, error)
        this.components.metrics.uploadRequests.inc({ status: String(res.statusCode) })
        if (failure.code === 'INTERNAL') this.components.logger.error({ err: error, url: req.url }, 'upload request failed')
        else if (res.statusCode === 401 || res.statusCode === 403) this.components.logger.info({ code: failure.code, reason: failure.message, remote: req.socket.remoteAddress }, 'piece request refused')
      })
    }
    this.server = init.tls === undefined ? createServer({ keepAlive: true }, handle) : createTlsServer({ ...init.tls, keepAlive: true }, handle)
    this.server.keepAliveTimeout = UPLOAD_KEEP_ALIVE_TIMEOUT_MS
  }

  /** New connections present this certificate (a renewed one); open ones keep theirs. */
  setTls(tls: TlsOptions): void {
    if (this.server instanceof TlsServer) this.server.setSecureContext(tls)
  }

  /** Piece responses being sent right now: the host's upload load for the scheduler. */
  get activeUploads(): number {
    return this.uploading
  }

  /** `host:port` actually bound, once started. */
  get address(): string {
    return this.boundAddress
  }

  async start(): Promise<void> {
    this.boundAddress = await listen(this.server, { host: this.init.host, port: this.init.port })
    this.components.logger.info({ address: this.boundAddress, tls: this.init.tls !== undefined }, 'upload server listening')
  }

  stop(): Promise<void> {
    this.stopping.abort()
    return closeServer(this.server)
  }

  /**
   * Streams the list of the pieces this host holds (piece-list.ts) to a watching child: those it
   * holds now, then each one as it is recorded, those of one turn in one write. The list is 4
   * bytes per piece of the task, so the response ends once this host holds every piece; until
   * then, until the child goes, or until the child's capability expires or its host is revoked
   * (checked before each write: the child asks again with a fresh capability).
   */
  private async streamPieceList(res: ServerResponse, task: StoredTask, grant: PieceGrant): Promise<void> {
    if (this.watching >= (this.init.maxPieceWatches ?? MAX_PIECE_WATCHES)) throw new DamselflyError('TOO_MANY_UPLOADS', `watched by ${this.watching} children already, the most this host allows`)
    const { contentLengthBytes = 0, pieceLengthBytes, taskId } = task.descriptor
    const total = pieceCount(contentLengthBytes, pieceLengthBytes)
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': total * PIECE_LIST_ENTRY_BYTES, 'x-dragonfly-task-id': taskId })
    this.components.metrics.uploadRequests.inc({ status: '200' })
    this.components.metrics.pieceWatches.inc()
    this.watching++
    const closed = hangUpSignal(res)
    const signal = AbortSignal.any([closed, this.stopping.signal])
    let listed = 0
    try {
      while (!signal.aborted && grant.holds()) {
        const recorded = task.piecesRecordedSince(listed)
        if (recorded.length > 0) {
          res.write(encodePieceList(recorded))
          listed += recorded.length
        }
        if (listed >= total) break
        await task.pieceRecorded(signal)
        await new Promise((resolve) => setImmediate(resolve))
      }
    } finally {
      if (listed >= total) res.end()
      else res.destroy()
      this.watching--
    }
  }

  /** Writes a chunk once the host's upload bucket allows it; resolves when the socket no longer needs its bytes. */
  private async send(res: ServerResponse, chunk: Buffer, signal: AbortSignal): Promise<void> {
    const { limiter } = this.components
    if (!limiter.tryTake(chunk.length)) await limiter.take(chunk.length, signal)
    await writeChunk(res, chunk, signal)
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost')
    const download = DOWNLOAD_PATH.exec(url.pathname)
    const watch = download === null && req.method === 'GET' ? PIECES_PATH.exec(url.pathname) : null
    const match = download ?? watch
    if ((req.method !== 'GET' && req.method !== 'HEAD') || match?.[2] === undefined || !isTaskId(match[2]) || !match[2].startsWith(match[1] ?? '')) {
      throw new DamselflyError('INVALID_ARGUMENT', `no such endpoint: ${req.method ?? ''} ${url.pathname}`)
    }
    if (this.init.disableShared) throw new DamselflyError('SHARING_DISABLED', 'this host does not share its content')
    const taskId = match[2]
    // Before anything about the task is looked at: a stranger learns not even whether it is here.
    const grant = this.components.access.check(req, taskId)
    const task = this.components.store.get(taskId)
    const length = task?.descriptor.contentLengthBytes
    if (task === undefined || length === undefined) throw new DamselflyError('TASK_NOT_FOUND', `no task ${taskId} on this host`, { details: { taskId } })
    if (watch !== null) {
      await this.streamPieceList(res, task, grant)
      return
    }
    const parsed = parseRangeHeader(req.headers.range, length)
    if (parsed === 'unsatisfiable') {
      res.writeHead(416, { 'content-range': `bytes */${length}` }).end()
      this.components.metrics.uploadRequests.inc({ status: '416' })
      return
    }
    const range = parsed ?? { start: 0, end: length - 1 }
    const { first, last } = piecesCovering(range.start, range.end, task.descriptor.pieceLengthBytes)
    for (let n = first; n <= last && length > 0; n++) {
      if (task.piece(n) === undefined) throw new DamselflyError('PIECE_NOT_FOUND', `this host does not hold piece ${n} of task ${taskId}`, { details: { taskId } })
    }
    if (this.uploading >= this.init.concurrentLimit) {
      throw new DamselflyError('TOO_MANY_UPLOADS', `serving ${this.uploading} pieces already, the most this host allows`)
    }
    const byteCount = length === 0 ? 0 : range.end - range.start + 1
    // Only a child's request for one piece is held back: it can get that piece elsewhere.
    const spreadPiece = this.spread !== undefined && req.method === 'GET' && first === last && byteCount > 0 ? first : undefined
    const claim = spreadPiece === undefined ? 'send' : this.spread?.claim(task, spreadPiece)
    if (claim === 'defer') {
      throw new DamselflyError('PIECE_DEFERRED', `piece ${spreadPiece ?? ''} went out already; this seed peer sends pieces nobody has first`, { details: { taskId } })
    }
    if (claim === 'busy') throw new DamselflyError('TOO_MANY_UPLOADS', `this seed peer sends ${this.init.seedUploadsPerTask ?? 0} pieces of task ${taskId} at once`)
    res.writeHead(parsed === undefined ? 200 : 206, {
      'content-type': 'application/octet-stream',
      'content-length': byteCount,
      'accept-ranges': 'bytes',
      'x-dragonfly-task-id': taskId,
      ...(parsed === undefined ? {} : { 'content-range': contentRange(range, length) }),
    })
    this.components.metrics.uploadRequests.inc({ status: String(res.statusCode) })
    if (req.method === 'HEAD' || byteCount === 0) {
      res.end()
      return
    }
    let delivered = false
    const release = task.acquire()
    this.uploading++
    const closed = hangUpSignal(res)
    try {
      task.touch()
      await task.sendRange(range.start, range.end, (chunk) => this.send(res, chunk, closed), closed)
      res.end()
      this.components.metrics.uploadTrafficBytes.inc(byteCount)
      delivered = true
    } catch (error) {
      // A child hanging up (cancelling an endgame duplicate, leaving) is routine; anything else is this host's problem.
      if (isHangUp(error)) this.components.logger.debug({ err: error, taskId }, 'child hung up during an upload')
      else if (!closed.aborted) this.components.logger.warn({ err: error, taskId }, 'upload interrupted')
      res.destroy()
    } finally {
      if (spreadPiece !== undefined) this.spread?.finished(task, spreadPiece, delivered)
      this.uploading--
      release()
    }
  }
}

/** Errors of a write to a connection its other end closed. */
const HANG_UP_CODES = new Set(['EPIPE', 'ECONNRESET', 'ERR_STREAM_DESTROYED', 'ERR_STREAM_PREMATURE_CLOSE'])

function isHangUp(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code
  return typeof code === 'string' && HANG_UP_CODES.has(code)
}
