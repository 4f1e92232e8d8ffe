import { createHash, randomFillSync } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { open } from 'node:fs/promises'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { waitFor, waitForQuiet } from './processes.js'

/** How a path misbehaves, for the failure cases of the acceptance suites. */
export interface Behaviour {
  /** Answer every request with this status and a short body. */
  readonly status?: number
  /** Require this exact Authorization header, else 401. */
  readonly authorization?: string
  /** Send at most this many body bytes per response, then destroy the connection. */
  readonly cutAfterBytes?: number
  /** Announce this content length (HEAD, Content-Length and Content-Range totals) instead of the real one. */
  readonly announcedLength?: number
  /** No Content-Length and no ranges: a chunked body, as some dynamic origins send. */
  readonly chunked?: boolean
  /** Ignore Range headers and answer 200 with the whole body. */
  readonly ignoreRanges?: boolean
  /** Answer `Connection: close` and close the socket after the body, as python's http.server does. */
  readonly closeConnection?: boolean
  /** Answer GETs only once this settles (HEADs at once), so a test can line requests up. */
  readonly holdGets?: Promise<void>
}

export interface Content {
  readonly file: string
  readonly length: number
  readonly sha256: string
}

/** What the origin sent for one path: every GET, and the byte ranges of responses that completed. */
export interface PathStats {
  heads: number
  gets: number
  bodyBytesSent: number
  completedRanges: Array<readonly [number, number]>
}

/** Writes `length` random bytes to `file` and returns its digest. */
export async function makeRandomFile(file: string, length: number): Promise<Content> {
  const handle = await open(file, 'w')
  const hash = createHash('sha256')
  const block = Buffer.allocUnsafe(4 * 1024 * 1024)
  try {
    for (let written = 0; written < length; ) {
      const size = Math.min(block.length, length - written)
      const chunk = randomFillSync(block.subarray(0, size))
      hash.update(chunk)
      await handle.write(chunk, 0, size, written)
      written += size
    }
  } finally {
    await handle.close()
  }
  return { file, length, sha256: hash.digest('hex') }
}

/** A real HTTP origin on 127.0.0.1 port 0 that counts what it serves and misbehaves on request. */
export class OriginServer {
  private readonly routes = new Map<string, { content: Content; behaviour: Behaviour }>()
  private readonly stats = new Map<string, PathStats>()
  /** Responses being written, by path. */
  private readonly inFlight = new Map<string, number>()

  private constructor(private readonly server: Server) {}

  static async start(): Promise<OriginServer> {
    const server = createServer({ keepAlive: true })
    const origin = new OriginServer(server)
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      origin.handle(req, res)
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    return origin
  }

  get baseUrl(): string {
    const { port } = this.server.address() as AddressInfo
    return `http://127.0.0.1:${port}`
  }

  url(path: string): string {
    return `${this.baseUrl}${path}`
  }

  serve(path: string, content: Content, behaviour: Behaviour = {}): string {
    this.routes.set(path, { content, behaviour })
    return this.url(path)
  }

  statsOf(path: string): PathStats {
    let stats = this.stats.get(path)
    if (stats === undefined) this.stats.set(path, (stats = { heads: 0, gets: 0, bodyBytesSent: 0, completedRanges: [] }))
    return stats
  }

  /**
   * What the origin sent for `path`, once no response for it is in flight and its counts have not
   * changed for 500 ms: a daemon, or a seed it asked, may still be fetching when a client is done.
   */
  async settledStatsOf(path: string): Promise<PathStats> {
    await waitForQuiet(() => ({ ...this.statsOf(path), completedRanges: this.statsOf(path).completedRanges.length, inFlight: this.inFlight.get(path) ?? 0 }), `the origin's counts for ${path}`)
    await waitFor(() => (this.inFlight.get(path) ?? 0) === 0, `the origin's responses for ${path} to end`)
    return { ...this.statsOf(path), completedRanges: [...this.statsOf(path).completedRanges] }
  }

  async close(): Promise<void> {
    this.server.closeAllConnections()
    await new Promise<void>((resolve) => this.server.close(() => resolve()))
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? '/').split('?')[0] ?? '/'
    const route = this.routes.get(path)
    const stats = this.statsOf(path)
    if (req.method === 'HEAD') stats.heads++
    else stats.gets++
    if (route === undefined) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found')
      return
    }
    const { content, behaviour } = route
    if (behaviour.holdGets !== undefined && req.method !== 'HEAD') {
      const { holdGets, ...rest } = behaviour
      void holdGets.then(() => {
        this.answer(req, res, path, content, rest, stats)
      })
      return
    }
    this.answer(req, res, path, content, behaviour, stats)
  }

  private answer(req: IncomingMessage, res: ServerResponse, path: string, content: Content, behaviour: Behaviour, stats: PathStats): void {
    if (behaviour.status !== undefined) {
      res.writeHead(behaviour.status, { 'content-type': 'text/plain' }).end(`status ${behaviour.status}`)
      return
    }
    if (behaviour.authorization !== undefined && req.headers.authorization !== behaviour.authorization) {
      res.writeHead(401, { 'www-authenticate': 'Basic realm="test"' }).end('unauthorized')
      return
    }
    const announced = behaviour.announcedLength ?? content.length
    let start = 0
    let end = content.length - 1
    let status = 200
    const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '')
    if (range !== null && !behaviour.ignoreRanges && !behaviour.chunked) {
      start = Number(range[1])
      end = range[2] === '' ? announced - 1 : Math.min(Number(range[2]), announced - 1)
      if (start >= announced) {
        res.writeHead(416, { 'content-range': `bytes */${announced}` }).end()
        return
      }
      status = 206
    }
    const headers: Record<string, string | number> = { 'content-type': 'application/octet-stream' }
    if (behaviour.closeConnection === true) headers['connection'] = 'close'
    if (!behaviour.chunked) {
      headers['content-length'] = status === 206 ? end - start + 1 : announced
      if (!behaviour.ignoreRanges) headers['accept-ranges'] = 'bytes'
      if (status === 206) headers['content-range'] = `bytes ${start}-${end}/${announced}`
    }
    res.writeHead(status, headers)
    if (req.method === 'HEAD' || content.length === 0 || start > content.length - 1) {
      res.end()
      return
    }
    const stream = createReadStream(content.file, { start, end: Math.min(end, content.length - 1) })
    let sent = 0
    stream.on('data', (chunk) => {
      let piece = chunk as Buffer
      if (behaviour.cutAfterBytes !== undefined && sent + piece.length > behaviour.cutAfterBytes) {
        piece = piece.subarray(0, behaviour.cutAfterBytes - sent)
        sent += piece.length
        stats.bodyBytesSent += piece.length
        res.write(piece, () => res.destroy())
        stream.destroy()
        return
      }
      sent += piece.length
      stats.bodyBytesSent += piece.length
      if (!res.write(piece)) {
        stream.pause()
        res.once('drain', () => stream.resume())
      }
    })
    stream.on('end', () => {
      // A body shorter than announced ends the way a crashing origin's does: the connection drops.
      if (!behaviour.chunked && sent < end - start + 1) res.destroy()
      else res.end()
    })
    res.on('finish', () => {
      if (sent === end - start + 1) stats.completedRanges.push([start, end])
    })
    this.inFlight.set(path, (this.inFlight.get(path) ?? 0) + 1)
    res.on('close', () => {
      this.inFlight.set(path, (this.inFlight.get(path) ?? 1) - 1)
      stream.destroy()
    })
  }
}
