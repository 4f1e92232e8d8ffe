import { connect as netConnect, type Socket } from 'node:net'
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls'
import { DamselflyError } from '../../protocol/damselfly-error.js'
import { hostPort } from '../../common/host-port.js'

/**
 * Takes a piece's body bytes as they arrive. `chunk` is only valid during the call (the
 * connection reads into one buffer it reuses), so a sink copies what it keeps. A returned promise
 * pauses the socket until it settles; a rejection or a throw fails the request.
 */
export type PieceSink = (chunk: Buffer) => Promise<void> | undefined

/** A parent's answer other than the body: its status and, when it is not the requested body's, its (small) body. */
export interface PieceAnswer {
  readonly status: number
  /** The whole body of any other answer (an error's JSON); empty for the requested body, whose bytes went to the sink. */
  readonly body: Buffer
}

/** Where a parent's upload server listens. */
export interface ParentAddress {
  readonly host: string
  readonly port: number
  readonly tls: boolean
}

/** A request this connection sends: a GET of `path` with these headers. */
export interface PieceRequest {
  readonly path: string
  readonly headers: Readonly<Record<string, string>>
  /** The status whose body goes to the sink: 206 (a piece's bytes) unless set; 200 for a parent's piece list. */
  readonly bodyStatus?: number
}

/** Bytes a connection reads into at a time; one buffer per connection, reused for every read. */
const READ_BUFFER_BYTES = 128 * 1024
/** The most a response head may take; ours are a few hundred bytes. */
const MAX_HEAD_BYTES = 16 * 1024
/** The most of any other body kept: an error's JSON. */
const MAX_ERROR_BODY_BYTES = 64 * 1024
const HEAD_END = Buffer.from('\r\n\r\n')
/** Header names and values a request may carry: visible ASCII and spaces, nothing that ends a line. */
const HEADER_TEXT = /^[\x20-\x7e]*$/

interface Exchange {
  readonly sink: PieceSink
  /** The status whose body goes to the sink. */
  readonly bodyStatus: number
  readonly resolve: (answer: PieceAnswer) => void
  readonly reject: (error: DamselflyError) => void
  head: Buffer | undefined
  status: number
  remainingBytes: number
  errorBody: Buffer[]
  /** Whether any byte of the answer arrived: a reused connection that fails before may be retried. */
  answered: boolean
  keepAlive: boolean
}

function parentFailed(message: string, cause?: unknown): DamselflyError {
  return new DamselflyError('PARENT_FAILED', message, cause === undefined ? {} : { cause })
}

/**
 * One keep-alive HTTP/1.1 connection to a parent's upload server, carrying one ranged GET at a
 * time. It reads into a single buffer it owns (`onread`) and hands body bytes straight to the
 * request's sink: no allocation per read and no stream between the socket and the piece writer,
 * which is where a general HTTP client spends most of its CPU per byte. It speaks only what the
 * upload server answers: a status line, headers with a content-length, and that many bytes.
 */
export class PieceConnection {
  private readonly socket: Socket
  private readonly ready: Promise<void>
  private exchange: Exchange | undefined
  private closedError: DamselflyError | undefined
  /** Requests this connection carried, so a pool knows whether a failure may be retried elsewhere. */
  usedCount = 0
  /** Whether the last request failed before any byte of its answer arrived: on a reused connection, the parent had closed it idle. */
  failedUnanswered = false
  /** Called once the connection is closed for good. */
  onClose: (() => void) | undefined

  constructor(
    readonly address: ParentAddress,
    private readonly init: { tls: ConnectionOptions | undefined; idleTimeoutMs: number },
  ) {
    const onread = { buffer: Buffer.allocUnsafe(READ_BUFFER_BYTES), callback: (length: number, buffer: Uint8Array): boolean => {
      this.received(Buffer.from(buffer.buffer, buffer.byteOffset, length))
      // The socket pauses itself while a sink waits (see readBody); nothing to add here.
      return true
    } }
    const target = { host: address.host, port: address.port, onread }
    this.socket = address.tls ? tlsConnect({ ...(init.tls ?? {}), ...target }) : netConnect(target)
    this.socket.setNoDelay(true)
    this.ready = new Promise((resolve) => {
      this.socket.once(address.tls ? 'secureConnect' : 'connect', () => {
        resolve()
      })
    })
    this.socket.on('timeout', () => {
      if (this.exchange !== undefined) this.fail(parentFailed(`parent ${this.label} sent nothing for ${init.idleTimeoutMs} ms`))
    })
    this.socket.on('end', () => {
      this.fail(parentFailed(`parent ${this.label} closed the connection`))
    })
    this.socket.on('error', (error: NodeJS.ErrnoException) => {
      this.fail(parentFailed(`parent ${this.label}: ${error.code ?? error.message}`, error))
    })
    this.socket.on('close', () => {
      this.fail(parentFailed(`parent ${this.label} closed the connection`))
      this.onClose?.()
    })
  }

  /** Whether the connection may carry another request. */
  get open(): boolean {
    return this.closedError === undefined
  }

  private get label(): string {
    return `${this.address.host}:${this.address.port}`
  }

  /**
   * Sends the request and resolves with the answer once all of it arrived; a 206's body (or that
   * of the request's `bodyStatus`) goes to `sink` as it arrives. Rejects with PARENT_FAILED when the parent cannot be reached, stays
   * silent for the idle timeout, closes early or answers what the upload server never sends; with
   * the signal's reason once it aborts. A failed or aborted request closes the connection.
   */
  async request(request: PieceRequest, sink: PieceSink, signal: AbortSignal): Promise<PieceAnswer> {
    if (this.exchange !== undefined) throw new DamselflyError('INTERNAL', 'a piece connection carries one request at a time')
    const head = requestHead(this.address, request)
    this.usedCount++
    const answer = new Promise<PieceAnswer>((resolve, reject) => {
      this.exchange = { sink, bodyStatus: request.bodyStatus ?? 206, resolve, reject, head: undefined, status: 0, remainingBytes: 0, errorBody: [], answered: false, keepAlive: true }
    })
    if (this.closedError !== undefined) this.fail(this.closedError)
    const abort = (): void => {
      this.close(parentFailed('the request was cancelled'))
    }
    signal.addEventListener('abort', abort, { once: true })
    try {
      if (signal.aborted) abort()
      // Armed before connecting: a parent that never completes the handshake fails like a silent one.
      this.socket.setTimeout(this.init.idleTimeoutMs)
      await Promise.race([this.ready, answer])
      this.socket.write(head)
      return await answer
    } catch (error) {
      if (signal.aborted) throw signal.reason
      throw error
    } finally {
      signal.removeEventListener('abort', abort)
    }
  }

  /** Closes the connection; a request under way fails with `reason`. Safe to repeat. */
  close(reason: DamselflyError = parentFailed('the connection was closed')): void {
    this.fail(reason)
  }

  private received(chunk: Buffer): void {
    const exchange = this.exchange
    if (exchange === undefined) {
      this.fail(parentFailed(`parent ${this.label} sent bytes nobody asked for`))
      return
    }
    exchange.answered = true
    try {
      let body = chunk
      if (exchange.head !== undefined || exchange.status === 0) {
        const rest = this.readHead(exchange, chunk)
        if (rest === undefined) return
        body = rest
      }
      this.readBody(exchange, body)
    } catch (error) {
      this.fail(error instanceof DamselflyError ? error : parentFailed(`parent ${this.label}: ${String(error)}`, error))
    }
  }

  /** Gathers the response head; returns the bytes after it once it is complete, undefined while it is not. */
  private readHead(exchange: Exchange, chunk: Buffer): Buffer | undefined {
    // Only a head still incomplete is copied (the read buffer is reused once this call returns);
    // the body bytes after a complete head are passed on where they were read.
    const before = exchange.head
    const gathered = before === undefined ? chunk : Buffer.concat([before, chunk.subarray(0, MAX_HEAD_BYTES + HEAD_END.length)])
    const end = gathered.indexOf(HEAD_END)
    if (end === -1) {
      if (gathered.length > MAX_HEAD_BYTES) throw parentFailed(`parent ${this.label} sent a response head over ${MAX_HEAD_BYTES} bytes`)
      exchange.head = before === undefined ? Buffer.from(chunk) : gathered
      return undefined
    }
    exchange.head = undefined
    const lines = gathered.subarray(0, end).toString('latin1').split('\r\n')
    const status = /^HTTP\/1\.1 (\d{3})(?: |$)/.exec(lines[0] ?? '')
    if (status?.[1] === undefined) throw parentFailed(`parent ${this.label} answered something other than HTTP/1.1: ${JSON.stringify((lines[0] ?? '').slice(0, 80))}`)
    let contentLength: number | undefined
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':')
      const name = line.slice(0, colon).trim().toLowerCase()
      const value = line.slice(colon + 1).trim()
      if (name === 'content-length') {
        if (!/^\d{1,15}$/.test(value) || (contentLength !== undefined && contentLength !== Number(value))) throw parentFailed(`parent ${this.label} sent a bad content-length: ${JSON.stringify(value)}`)
        contentLength = Number(value)
      } else if (name === 'transfer-encoding') {
        throw parentFailed(`parent ${this.label} sent a body with transfer-encoding ${JSON.stringify(value)}; the upload server always sends a content-length`)
      } else if (name === 'connection' && value.toLowerCase() === 'close') {
        exchange.keepAlive = false
      }
    }
    if (contentLength === undefined) throw parentFailed(`parent ${this.label} answered ${status[1]} without a content-length`)
    exchange.status = Number(status[1])
    exchange.remainingBytes = contentLength
    if (exchange.status !== exchange.bodyStatus && contentLength > MAX_ERROR_BODY_BYTES) throw parentFailed(`parent ${this.label} answered ${exchange.status} with a ${contentLength}-byte body`)
    return chunk.subarray(end + HEAD_END.length - (before?.length ?? 0))
  }

  private readBody(exchange: Exchange, body: Buffer): void {
    if (body.length > exchange.remainingBytes) throw parentFailed(`parent ${this.label} sent more bytes than its content-length`)
    exchange.remainingBytes -= body.length
    if (exchange.status !== exchange.bodyStatus) {
      if (body.length > 0) exchange.errorBody.push(Buffer.from(body))
    } else if (body.length > 0) {
      const wait = exchange.sink(body)
      if (wait !== undefined) {
        this.socket.pause()
        wait.then(() => {
          if (this.exchange === exchange) this.socket.resume()
        }, (error: unknown) => {
          if (this.exchange === exchange) this.fail(error instanceof DamselflyError ? error : parentFailed(String(error), error))
        })
      }
    }
    if (exchange.remainingBytes > 0) return
    this.exchange = undefined
    this.socket.setTimeout(0)
    // A pause the last chunk asked for concerns that piece's writes, which its writer still awaits; the next answer must flow.
    this.socket.resume()
    if (!exchange.keepAlive) this.close(parentFailed(`parent ${this.label} closed the connection after its answer`))
    exchange.resolve({ status: exchange.status, body: exchange.status === exchange.bodyStatus ? Buffer.alloc(0) : Buffer.concat(exchange.errorBody) })
  }

  private fail(error: DamselflyError): void {
    const exchange = this.exchange
    this.exchange = undefined
    if (exchange !== undefined) {
      this.failedUnanswered = !exchange.answered
      exchange.reject(error)
    }
    if (this.closedError === undefined) {
      this.closedError = error
      this.socket.destroy()
    }
  }
}

function requestHead(address: ParentAddress, request: PieceRequest): string {
  const host = hostPort(address.host, address.port)
  let head = `GET ${request.path} HTTP/1.1\r\nhost: ${host}\r\n`
  for (const [name, value] of Object.entries(request.headers)) {
    if (!HEADER_TEXT.test(name) || name.includes(':') || !HEADER_TEXT.test(value)) throw new DamselflyError('INVALID_ARGUMENT', `header ${JSON.stringify(name)} has characters a request header may not hold`)
    head += `${name}: ${value}\r\n`
  }
  if (!/^\/[\x21-\x7e]*$/.test(request.path)) throw new DamselflyError('INVALID_ARGUMENT', `not a request path: ${JSON.stringify(request.path)}`)
  return `${head}\r\n`
}
