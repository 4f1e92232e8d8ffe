import { request as httpRequest, type IncomingMessage } from 'node:http'
import { DamselflyError } from '../../protocol/damselfly-error.js'
import type { DownloadRequestBody } from '../download/download-request.js'
import { createInterface } from 'node:readline'
import { LOCAL_API, type LocalApiEvent } from './local-api.js'

/** The download finished; the content is the daemon's stored file, for the client to link or copy. */
export interface PathAnswer {
  readonly taskId: string
  /** Null when the daemon's store keeps no files; the client then asks for the stream. */
  readonly contentPath: string | null
  readonly contentLengthBytes: number
}

/** The daemon streams the content; the outcome arrives in the trailer once the body ends. */
export interface StreamAnswer {
  readonly taskId: string
  readonly contentLengthBytes: number | undefined
  readonly body: IncomingMessage
}

function taskIdOf(response: IncomingMessage): string {
  return String(response.headers[LOCAL_API.taskIdHeader] ?? '')
}

function lengthOf(response: IncomingMessage): number | undefined {
  const length = response.headers[LOCAL_API.contentLengthHeader]
  return typeof length === 'string' ? Number(length) : undefined
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

  /**
   * True when a daemon answers `/healthy` on the socket, false when none listens there. Fails with
   * DAEMON_UNAVAILABLE when one listens but this user may not connect.
   */
  async healthy(signal: AbortSignal): Promise<boolean> {
    try {
      const response = await this.send('GET', '/healthy', undefined, signal)
      response.resume()
      return response.statusCode === 200
    } catch (error) {
      const cause = error instanceof DamselflyError ? error.cause : undefined
      if ((cause as NodeJS.ErrnoException | undefined)?.code === 'EACCES') {
        throw new DamselflyError('DAEMON_UNAVAILABLE', `permission denied on the dfdaemon socket ${this.init.socketPath} (see download.server.socketMode), or use your own daemon with -e`, { cause })
      }
      return false
    }
  }

  /** Starts a download whose bytes stream back. Fails with the daemon's error when it refuses before sending content. */
  async downloadStream(body: DownloadRequestBody, signal: AbortSignal): Promise<StreamAnswer> {
    const response = await this.send('POST', LOCAL_API.download, JSON.stringify(body), signal)
    if (response.statusCode !== 200) throw await errorFrom(response)
    return { taskId: taskIdOf(response), contentLengthBytes: lengthOf(response), body: response }
  }

  /**
   * Downloads into the daemon's store and resolves with the stored file's path once complete,
   * reporting progress on the way. Fails with the daemon's error.
   */
  async downloadPath(
    body: DownloadRequestBody,
    options: { signal: AbortSignal; onStart?: (contentLengthBytes: number | undefined) => void | Promise<void>; onProgress?: (completedBytes: number) => void },
  ): Promise<PathAnswer> {
    const response = await this.send('POST', `${LOCAL_API.download}?delivery=path`, JSON.stringify(body), options.signal)
    if (response.statusCode !== 200) throw await errorFrom(response)
    await options.onStart?.(lengthOf(response))
    const lines = createInterface({ input: response, crlfDelay: Infinity })
    try {
      for await (const line of lines) {
        const event = JSON.parse(line) as LocalApiEvent
        if (event.event === 'progress') options.onProgress?.(event.completedBytes)
        else if (event.event === 'done') return { taskId: taskIdOf(response), contentPath: event.contentPath, contentLengthBytes: event.contentLength }
        else throw DamselflyError.fromJSON(event.error) ?? new DamselflyError('INTERNAL', 'unreadable download outcome')
      }
    } catch (error) {
      if (error instanceof DamselflyError) throw error
      if (options.signal.aborted) throw new DamselflyError('CANCELLED', 'the download was cancelled', { cause: error })
      throw new DamselflyError('DAEMON_UNAVAILABLE', 'dfdaemon went away during the download', { cause: error })
    }
    throw new DamselflyError('DAEMON_UNAVAILABLE', 'dfdaemon went away during the download')
  }

  async getJson(path: string, signal: AbortSignal): Promise<unknown> {
    const response = await this.send('GET', path, undefined, signal)
    if (response.statusCode !== 200) throw await errorFrom(response)
    const chunks: Buffer[] = []
    for await (const chunk of response as AsyncIterable<Buffer>) chunks.push(chunk)
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown
  }
}
