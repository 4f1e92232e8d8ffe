import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Writable } from 'node:stream'
import { ERROR_CODES } from '../protocol/error-codes.js'
import { DamselflyError, toDamselflyError } from '../protocol/damselfly-error.js'

/** Where a server listens: a TCP port on an address, or a unix socket path. */
export type ListenTarget = { readonly host: string; readonly port: number } | { readonly socketPath: string }

/** Listens and resolves with the bound address (the real port when 0 was asked for). */
export function listen(server: Server, target: ListenTarget): Promise<string> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error): void => {
      reject(error)
    }
    server.once('error', onError)
    const onListening = (): void => {
      server.off('error', onError)
      const address = server.address()
      if (typeof address === 'string' || address === null) resolve(address ?? '')
      else resolve(formatAddress(address))
    }
    if ('socketPath' in target) server.listen(target.socketPath, onListening)
    else server.listen(target.port, target.host, onListening)
  })
}

export function formatAddress(address: AddressInfo): string {
  return address.family === 'IPv6' ? `[${address.address}]:${address.port}` : `${address.address}:${address.port}`
}

/** Stops accepting, ends idle keep-alive connections, and waits for in-flight responses. */
export function closeServer(server: Server, graceMs = 5000): Promise<void> {
  if (!server.listening) return Promise.resolve()
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      server.closeAllConnections()
    }, graceMs)
    timer.unref()
    server.close(() => {
      clearTimeout(timer)
      resolve()
    })
    server.closeIdleConnections()
  })
}

/** The one place an error becomes an HTTP answer: the status from the code table, a JSON body. */
export function sendError(res: ServerResponse, error: unknown, headers: Record<string, string> = {}): DamselflyError {
  const failure = toDamselflyError(error)
  if (res.headersSent) {
    res.destroy(failure)
    return failure
  }
  const body = JSON.stringify({ error: failure.toJSON() })
  res.writeHead(ERROR_CODES[failure.code].httpStatus, {
    ...headers,
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
  })
  res.end(body)
  return failure
}

export function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value)
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) })
  res.end(body)
}

/** Reads a request body up to `limitBytes`, or fails with INVALID_ARGUMENT. */
export async function readBody(req: IncomingMessage, limitBytes: number): Promise<Buffer> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size > limitBytes) {
      throw new DamselflyError('INVALID_ARGUMENT', `request body exceeds ${limitBytes} bytes`)
    }
    chunks.push(chunk)
  }
  return Buffer.concat(chunks)
}

/**
 * Writes `chunk` to a response and resolves once the socket took it (the write's callback), so
 * the caller may read into the chunk's memory again: the way to send from buffers one reuses,
 * with backpressure from the socket. Rejects with the write's error, or with `signal.reason` once
 * `signal` aborts (a response closed under a write may never call back).
 */
export function writeChunk(res: Writable, chunk: Buffer, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason as Error)
      return
    }
    const closed = (): void => {
      reject(signal.reason as Error)
    }
    signal.addEventListener('abort', closed, { once: true })
    res.write(chunk, (error) => {
      signal.removeEventListener('abort', closed)
      if (error === null || error === undefined) resolve()
      else reject(error)
    })
  })
}

/**
 * A signal that aborts when `res` closes before all of it was sent: the client hung up. A response
 * that finished aborts nothing, since an abort builds an exception with its stack trace, and an
 * upload server answers one request per piece.
 */
export function hangUpSignal(res: ServerResponse): AbortSignal {
  const hungUp = new AbortController()
  res.on('close', () => {
    if (!res.writableFinished) hungUp.abort()
  })
  return hungUp.signal
}
