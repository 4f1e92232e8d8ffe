import { request as httpRequest, type IncomingMessage } from 'node:http'
import { DamselflyError } from '../../protocol/damselfly-error.js'
import type { DownloadRequestBody } from '../download/download-request.js'
import { LOCAL_API } from './local-api.js'

/** The daemon answered a download with its stored file, for the client to copy itself. */
export interface LocalCopyAnswer {
  readonly kind: 'local-copy'
  readonly taskId: string
  readonly contentPath: string
  readonly contentLengthBytes: number | undefined
}

/** The daemon streams the content; the outcome arrives in the trailer once the body ends. */
export interface StreamAnswer {
  readonly kind: 'stream'
  readonly taskId: string
  readonly contentLengthBytes: number | undefined
  readonly body: IncomingMessage
}

function unreachable(socketPath: string, cause: NodeJS.ErrnoException): DamselflyError {
  return new DamselflyError('DAEMON_UNAVAILABLE', `cannot reach dfdaemon at ${socketPath}: ${cause.code ?? cause.message}`, { cause })
}

async function errorFrom(response: IncomingMessage): Promise<DamselflyError> {
  const chunks: Buffer[] = []
  for await (const chunk of response as AsyncIterable<Buffer>) chunks.push(chunk)
  try {
    const parsed = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { error?: unknown }
    const error = DamselflyError.fromJSON(parsed.error)
    if (error !== undefined) return error
  } catch {
    // Not our JSON: fall through to a generic error naming the status.
  }
  return new DamselflyError('INTERNAL', `dfdaemon answered ${response.statusCode ?? 0} without an error body`)
}

/** A client of the daemon's local API on its unix socket (see docs/local-api.md). */
export class LocalApiClient {
  constructor(private readonly init: { socketPath: string }) {}

  private send(method: string, path: string, body: string | undefined, signal: AbortSignal): Promise<IncomingMessage> {
    return new Promise((resolve, reject) => {
      const req = httpRequest(
        {
          socketPath: this.init.socketPath,
          method,
          path,
          signal,
          headers: body === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        },
        resolve,
      )
      req.on('error', (error: NodeJS.ErrnoException) => {
        reject(error.name === 'AbortError' ? new DamselflyError('CANCELLED', 'the request was cancelled', { cause: error }) : unreachable(this.init.socketPath, error))
      })
      req.end(body)
    })
  }

  /** True when a daemon answers `/healthy` on the socket. */
  async healthy(signal: AbortSignal): Promise<boolean> {
    try {
      const response = await this.send('GET', '/healthy', undefined, signal)
      response.resume()
      return response.statusCode === 200
    } catch {
      return false
    }
  }

  /** Starts a download. Fails with the daemon's error when it refuses before sending content. */
  async download(body: DownloadRequestBody, options: { localCopy: boolean; signal: AbortSignal }): Promise<LocalCopyAnswer | StreamAnswer> {
    const path = `${LOCAL_API.download}${options.localCopy ? '?localCopy=true' : ''}`
    const response = await this.send('POST', path, JSON.stringify(body), options.signal)
    if (response.statusCode !== 200) throw await errorFrom(response)
    const taskId = String(response.headers[LOCAL_API.taskIdHeader] ?? '')
    if ((response.headers['content-type'] ?? '').startsWith('application/json')) {
      const chunks: Buffer[] = []
      for await (const chunk of response as AsyncIterable<Buffer>) chunks.push(chunk)
      const answer = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { contentPath: string; contentLength?: number | null }
      return { kind: 'local-copy', taskId, contentPath: answer.contentPath, contentLengthBytes: answer.contentLength ?? undefined }
    }
    const length = response.headers[LOCAL_API.contentLengthHeader]
    return { kind: 'stream', taskId, contentLengthBytes: typeof length === 'string' ? Number(length) : undefined, body: response }
  }

  async getJson(path: string, signal: AbortSignal): Promise<unknown> {
    const response = await this.send('GET', path, undefined, signal)
    if (response.statusCode !== 200) throw await errorFrom(response)
    const chunks: Buffer[] = []
    for await (const chunk of response as AsyncIterable<Buffer>) chunks.push(chunk)
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown
  }
}
