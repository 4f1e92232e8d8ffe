import { describe, it, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { contentRange, parseRangeHeader } from '../common/http-range.js'
import { HttpSource } from './http-source.js'
import type { SourceRequest } from './source.js'
import { readAll, rejection } from './source-test-fixtures.js'

const CONTENT = Buffer.from('0123456789abcdefghijklmnopqrstuvwxyz')
const TIMEOUTS = { connectTimeoutMs: 2_000, headersTimeoutMs: 2_000, bodyIdleTimeoutMs: 2_000 }
const TEST = { timeout: 5_000 }

type Route = (req: IncomingMessage, res: ServerResponse) => void

/** Answers like a static file server: HEAD and GET, single ranges, validators. */
const serveContent = (content: Buffer, options: { headStatus?: number; ranges?: boolean } = {}): Route => (req, res) => {
  const head = { 'content-type': 'application/octet-stream', etag: '"v1"', 'last-modified': 'Mon, 01 Jan 2024 00:00:00 GMT' }
  if (req.method === 'HEAD' && options.headStatus !== undefined) {
    res.writeHead(options.headStatus).end()
    return
  }
  const range = options.ranges === false ? undefined : parseRangeHeader(req.headers.range, content.length)
  if (range === 'unsatisfiable') {
    res.writeHead(416, { 'content-range': `bytes */${content.length}` }).end()
    return
  }
  const body = range === undefined ? content : content.subarray(range.start, range.end + 1)
  res.writeHead(range === undefined ? 200 : 206, {
    ...head,
    'content-length': body.length,
    ...(options.ranges === false ? {} : { 'accept-ranges': 'bytes' }),
    ...(range === undefined ? {} : { 'content-range': contentRange(range, content.length) }),
  })
  res.end(req.method === 'HEAD' ? undefined : body)
}

/** No Content-Length at all: Node sends the GET body chunked. */
const serveChunked: Route = (req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain' })
  if (req.method === 'HEAD') {
    res.end()
    return
  }
  res.write(CONTENT.subarray(0, 10))
  setImmediate(() => res.end(CONTENT.subarray(10)))
}

const redirect = (status: number, location: () => string): Route => (_req, res) => {
  res.writeHead(status, { location: location() }).end()
}

/** An origin on 127.0.0.1 port 0 that records the headers of every request, by path. */
class TestOrigin {
  readonly seen = new Map<string, IncomingHttpHeaders[]>()
  private readonly server: Server
  private base = ''

  constructor(private readonly routes: Record<string, Route>) {
    this.server = createServer((req, res) => {
      const path = new URL(req.url ?? '/', 'http://origin').pathname
      this.seen.set(path, [...(this.seen.get(path) ?? []), req.headers])
      const route = this.routes[path]
      if (route === undefined) res.writeHead(404).end()
      else route(req, res)
    })
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve))
    this.base = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`
  }

  url(path: string): URL {
    return new URL(path, this.base)
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections()
    await new Promise<void>((resolve) => this.server.close(() => { resolve() }))
  }
}

function request(url: URL, headers: Record<string, string> = {}): SourceRequest {
  return { url, headers, signal: AbortSignal.timeout(4_000) }
}

describe('HttpSource', TEST, () => {
  const other = new TestOrigin({ '/file': serveContent(CONTENT) })
  const origin = new TestOrigin({
    '/file': serveContent(CONTENT),
    '/head-403': serveContent(CONTENT, { headStatus: 403 }),
    '/head-405': serveContent(CONTENT, { headStatus: 405 }),
    '/head-403-no-ranges': serveContent(CONTENT, { headStatus: 403, ranges: false }),
    '/head-405-star': (req, res) => {
      if (req.method === 'HEAD') res.writeHead(405).end()
      else res.writeHead(206, { 'content-range': 'bytes 0-0/*', 'content-length': 1 }).end(CONTENT.subarray(0, 1))
    },
    '/empty': serveContent(Buffer.alloc(0)),
    '/empty-head-405': serveContent(Buffer.alloc(0), { headStatus: 405 }),
    '/chunked': serveChunked,
    '/ignores-range': serveContent(CONTENT, { ranges: false }),
    '/moved-301': redirect(301, () => '/file'),
    '/found-302': redirect(302, () => '/file?second=hop'),
    '/temporary-307': redirect(307, () => other.url('/file').href),
    '/headers': (_req, res) => res.writeHead(200, { 'content-length': 2 }).end('ok'),
  })
  const source = new HttpSource({}, TIMEOUTS)

  before(async () => {
    await Promise.all([origin.start(), other.start()])
  })

  after(async () => {
    await source.close()
    await Promise.all([origin.stop(), other.stop()])
  })

  describe('stat', TEST, () => {
    it('reads length, range support and validators from HEAD', TEST, async () => {
      const stat = await source.stat(request(origin.url('/file')))
      assert.deepEqual(stat, {
        contentLengthBytes: CONTENT.length,
        rangeSupported: true,
        etag: '"v1"',
        lastModified: 'Mon, 01 Jan 2024 00:00:00 GMT',
        contentType: 'application/octet-stream',
      })
      assert.deepEqual(origin.seen.get('/file')?.map((headers) => headers.range), [undefined])
    })

    const fallbacks = [
      { path: '/head-403', lengthBytes: CONTENT.length, rangeSupported: true },
      { path: '/head-405', lengthBytes: CONTENT.length, rangeSupported: true },
      { path: '/head-405-star', lengthBytes: undefined, rangeSupported: true },
      { path: '/head-403-no-ranges', lengthBytes: CONTENT.length, rangeSupported: false },
      { path: '/empty-head-405', lengthBytes: 0, rangeSupported: true },
    ]
    for (const { path, lengthBytes, rangeSupported } of fallbacks) {
      it(`falls back to a ranged GET when HEAD is refused: ${path}`, TEST, async () => {
        const stat = await source.stat(request(origin.url(path)))
        assert.equal(stat.contentLengthBytes, lengthBytes)
        assert.equal(stat.rangeSupported, rangeSupported)
        assert.deepEqual(origin.seen.get(path)?.map((headers) => headers.range), [undefined, 'bytes=0-0'])
      })
    }

    it('reports 0 bytes for empty content', TEST, async () => {
      const stat = await source.stat(request(origin.url('/empty')))
      assert.equal(stat.contentLengthBytes, 0)
    })

    it('reports no length for a chunked origin', TEST, async () => {
      const stat = await source.stat(request(origin.url('/chunked')))
      assert.equal(stat.contentLengthBytes, undefined)
      assert.equal(stat.rangeSupported, false)
      assert.equal(stat.contentType, 'text/plain')
      assert.equal(stat.etag, undefined)
    })
  })

  describe('fetch', TEST, () => {
    it('streams the whole content with its length', TEST, async () => {
      const response = await source.fetch(request(origin.url('/file')))
      assert.equal(response.contentLengthBytes, CONTENT.length)
      assert.deepEqual(await readAll(response.body), CONTENT)
    })

    it('streams a chunked origin without a length', TEST, async () => {
      const response = await source.fetch(request(origin.url('/chunked')))
      assert.equal(response.contentLengthBytes, undefined)
      assert.deepEqual(await readAll(response.body), CONTENT)
    })

    it('streams empty content', TEST, async () => {
      const response = await source.fetch(request(origin.url('/empty')))
      assert.equal(response.contentLengthBytes, 0)
      assert.equal((await readAll(response.body)).length, 0)
    })
  })

  describe('fetchRange', TEST, () => {
    const ranges = [
      { offset: 0, length: 1 },
      { offset: 5, length: 10 },
      { offset: 30, length: 6 },
      { offset: 0, length: CONTENT.length },
    ]
    for (const range of ranges) {
      it(`returns exactly bytes ${range.offset}+${range.length}`, TEST, async () => {
        const response = await source.fetchRange(request(origin.url('/file')), range)
        assert.equal(response.contentLengthBytes, range.length)
        assert.deepEqual(await readAll(response.body), CONTENT.subarray(range.offset, range.offset + range.length))
      })
    }

    it('fails with SOURCE_RANGE_UNSUPPORTED when the origin answers 200', TEST, async () => {
      const error = await rejection(source.fetchRange(request(origin.url('/ignores-range')), { offset: 2, length: 3 }))
      assert.equal(error.code, 'SOURCE_RANGE_UNSUPPORTED')
      assert.match(error.message, /ignored the range request for http:\/\/127\.0\.0\.1:\d+\/ignores-range/)
    })

    it('refuses an empty or negative range before asking the origin', TEST, async () => {
      for (const range of [{ offset: 0, length: 0 }, { offset: -1, length: 2 }, { offset: 0.5, length: 2 }]) {
        const error = await rejection(source.fetchRange(request(origin.url('/file')), range))
        assert.equal(error.code, 'INVALID_ARGUMENT')
      }
    })
  })

  describe('redirects', TEST, () => {
    const hops = [
      { path: '/moved-301', target: () => origin },
      { path: '/found-302', target: () => origin },
      { path: '/temporary-307', target: () => other },
    ]
    for (const { path, target } of hops) {
      it(`follows ${path} and sends the Range to where it points`, TEST, async () => {
        const response = await source.fetchRange(request(origin.url(path)), { offset: 3, length: 4 })
        assert.deepEqual(await readAll(response.body), CONTENT.subarray(3, 7))
        assert.equal(target().seen.get('/file')?.at(-1)?.range, 'bytes=3-6')
      })
    }

    it('stops after the redirect limit with SOURCE_STATUS', TEST, async () => {
      const limited = new HttpSource({}, { ...TIMEOUTS, maxRedirections: 0 })
      try {
        const error = await rejection(limited.fetch(request(origin.url('/moved-301'))))
        assert.equal(error.code, 'SOURCE_STATUS')
        assert.equal(error.details.sourceStatus, 301)
        assert.match(error.message, /limit reached/)
      } finally {
        await limited.close()
      }
    })
  })

  describe('request headers', TEST, () => {
    it('passes credentials and custom headers, drops hop-by-hop ones, host and range', TEST, async () => {
      const response = await source.fetch(request(origin.url('/headers'), {
        Authorization: 'Bearer secret-token',
        'X-Custom': 'kept',
        Host: 'evil.example',
        Range: 'bytes=0-1',
        Connection: 'close, X-Hop',
        'X-Hop': 'dropped',
        'Keep-Alive': 'timeout=1',
        'Proxy-Authorization': 'Basic cHJveHk=',
        TE: 'trailers',
        Upgrade: 'websocket',
      }))
      await readAll(response.body)
      const [seen] = origin.seen.get('/headers') ?? []
      assert.ok(seen !== undefined)
      assert.equal(seen.authorization, 'Bearer secret-token')
      assert.equal(seen['x-custom'], 'kept')
      assert.equal(seen.host, origin.url('/').host)
      assert.equal(seen.range, undefined)
      assert.notEqual(seen.connection, 'close, X-Hop')
      for (const dropped of ['x-hop', 'keep-alive', 'proxy-authorization', 'te', 'upgrade']) {
        assert.equal(seen[dropped], undefined, dropped)
      }
      assert.equal(seen['user-agent'], 'damselfly/0.1.0')
    })

    it('keeps the caller’s User-Agent', TEST, async () => {
      const response = await source.fetch(request(origin.url('/headers'), { 'user-agent': 'containerd/2.0' }))
      await readAll(response.body)
      assert.equal(origin.seen.get('/headers')?.at(-1)?.['user-agent'], 'containerd/2.0')
    })
  })
})
