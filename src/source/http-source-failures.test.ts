import { describe, it, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer, type RequestListener, type Server } from 'node:http'
import { createServer as createTlsServer } from 'node:https'
import { createServer as createTcpServer, type AddressInfo, type Server as TcpServer, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createLogger } from '../common/logger.js'
import { HttpSource } from './http-source.js'
import type { SourceRequest } from './source.js'
import { readAll, rejection } from './source-test-fixtures.js'

const CONTENT = Buffer.from('0123456789abcdefghijklmnopqrstuvwxyz')
const TIMEOUTS = { connectTimeoutMs: 2_000, headersTimeoutMs: 2_000, bodyIdleTimeoutMs: 2_000 }
const TEST = { timeout: 8_000 }

const routes: Record<string, RequestListener> = {
  '/status/401': (_req, res) => res.writeHead(401).end('no'),
  '/status/404': (_req, res) => res.writeHead(404).end('no'),
  '/status/500': (_req, res) => res.writeHead(500).end('no'),
  '/hang': () => undefined,
  '/stall-body': (_req, res) => {
    res.writeHead(200, { 'content-length': CONTENT.length })
    res.write(CONTENT.subarray(0, 10))
  },
  // Without a Content-Length undici cannot check the size: only the source's own count can.
  '/range-long-chunked': (_req, res) => {
    res.writeHead(206, { 'content-range': `bytes 0-4/${CONTENT.length}` })
    res.end(CONTENT.subarray(0, 8))
  },
  '/range-short-chunked': (_req, res) => {
    res.writeHead(206, { 'content-range': `bytes 0-9/${CONTENT.length}` })
    res.end(CONTENT.subarray(0, 4))
  },
  '/range-wrong': (_req, res) => {
    res.writeHead(206, { 'content-range': `bytes 0-35/${CONTENT.length}`, 'content-length': CONTENT.length })
    res.end(CONTENT)
  },
}

async function listen(server: Server | TcpServer): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return (server.address() as AddressInfo).port
}

/** A TCP server that answers every request with the same bytes, framing lies included. */
class RawOrigin {
  private readonly sockets = new Set<Socket>()
  private readonly server: TcpServer
  port = 0

  constructor(response: string) {
    this.server = createTcpServer((socket) => {
      this.sockets.add(socket)
      socket.once('close', () => this.sockets.delete(socket))
      socket.once('data', () => socket.end(response))
    })
  }

  async start(): Promise<void> {
    this.port = await listen(this.server)
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy()
    await new Promise<void>((resolve) => this.server.close(() => { resolve() }))
  }
}

function request(url: URL | string, signal: AbortSignal = AbortSignal.timeout(6_000)): SourceRequest {
  return { url: new URL(url), headers: {}, signal }
}

async function waitFor(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) assert.fail('condition not met in time')
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

describe('HttpSource failures', TEST, () => {
  const server = createServer((req, res) => {
    const route = routes[new URL(req.url ?? '/', 'http://origin').pathname]
    if (route === undefined) res.writeHead(404).end()
    else route(req, res)
  })
  const short = new RawOrigin('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789')
  const shortRange = new RawOrigin('HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 0-9/36\r\nContent-Length: 10\r\n\r\n0123')
  const long = new RawOrigin('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n0123456789')
  const warnings: string[] = []
  const logger = createLogger({ level: 'warn', name: 'test', destination: { write: (line: string) => warnings.push(line) } })
  const source = new HttpSource({ logger }, TIMEOUTS)
  const impatient = new HttpSource({}, { ...TIMEOUTS, headersTimeoutMs: 200, bodyIdleTimeoutMs: 200 })
  let base = ''

  before(async () => {
    base = `http://127.0.0.1:${await listen(server)}`
    await Promise.all([short.start(), shortRange.start(), long.start()])
  })

  after(async () => {
    await Promise.all([source.close(), impatient.close()])
    server.closeAllConnections()
    await new Promise<void>((resolve) => server.close(() => { resolve() }))
    await Promise.all([short.stop(), shortRange.stop(), long.stop()])
  })

  describe('origin status', TEST, () => {
    for (const status of [401, 404, 500]) {
      it(`maps ${status} to SOURCE_STATUS from every call, without the query string`, TEST, async () => {
        const url = `${base}/status/${status}?X-Amz-Signature=topsecret`
        const calls = [
          () => source.stat(request(url)),
          () => source.fetch(request(url)),
          () => source.fetchRange(request(url), { offset: 0, length: 4 }),
        ]
        for (const call of calls) {
          const error = await rejection(call())
          assert.equal(error.code, 'SOURCE_STATUS')
          assert.equal(error.details.sourceStatus, status)
          assert.match(error.message, new RegExp(`^origin answered ${status} [A-Za-z ]+ for ${base}/status/${status}$`))
        }
      })
    }
  })

  describe('unreachable origins', TEST, () => {
    it('maps connection refused to SOURCE_UNREACHABLE', TEST, async () => {
      const closed = createTcpServer()
      const port = await listen(closed)
      await new Promise<void>((resolve) => closed.close(() => { resolve() }))
      const error = await rejection(source.stat(request(`http://127.0.0.1:${port}/file`)))
      assert.equal(error.code, 'SOURCE_UNREACHABLE')
      assert.equal(error.message, `cannot reach origin 127.0.0.1:${port}: connection refused`)
      assert.ok(error.cause instanceof Error)
    })
  })

  describe('bodies that lie about their length', TEST, () => {
    it('fails the body with SOURCE_TRUNCATED when the origin closes early', TEST, async () => {
      const response = await source.fetch(request(`http://127.0.0.1:${short.port}/file`))
      assert.equal(response.contentLengthBytes, 100)
      const error = await rejection(readAll(response.body))
      assert.equal(error.code, 'SOURCE_TRUNCATED')
    })

    it('fails a ranged body with SOURCE_TRUNCATED when the origin closes early', TEST, async () => {
      const response = await source.fetchRange(request(`http://127.0.0.1:${shortRange.port}/file`), { offset: 0, length: 10 })
      const error = await rejection(readAll(response.body))
      assert.equal(error.code, 'SOURCE_TRUNCATED')
    })

    it('counts bytes itself: a longer chunked range fails', TEST, async () => {
      const response = await source.fetchRange(request(`${base}/range-long-chunked`), { offset: 0, length: 5 })
      const error = await rejection(readAll(response.body))
      assert.equal(error.code, 'SOURCE_TRUNCATED')
      assert.match(error.message, /more than the 5 bytes announced/)
    })

    it('counts bytes itself: a shorter chunked range fails', TEST, async () => {
      const response = await source.fetchRange(request(`${base}/range-short-chunked`), { offset: 0, length: 10 })
      const error = await rejection(readAll(response.body))
      assert.equal(error.code, 'SOURCE_TRUNCATED')
      assert.match(error.message, /ended after 4 of 10 bytes/)
    })

    it('refuses a 206 for a range other than the one asked for', TEST, async () => {
      const error = await rejection(source.fetchRange(request(`${base}/range-wrong`), { offset: 5, length: 5 }))
      assert.equal(error.code, 'SOURCE_TRUNCATED')
      assert.match(error.message, /answered bytes 0-35 for bytes 5-9/)
    })

    it('never passes on bytes past Content-Length and warns about the origin', TEST, async () => {
      const response = await source.fetch(request(`http://127.0.0.1:${long.port}/file`))
      assert.deepEqual(await readAll(response.body), Buffer.from('01234'))
      await waitFor(() => warnings.some((line) => line.includes('origin broke http framing')), 2_000)
    })
  })

  describe('timeouts and cancellation', TEST, () => {
    it('maps a missing response head to SOURCE_TIMEOUT', TEST, async () => {
      const error = await rejection(impatient.stat(request(`${base}/hang`)))
      assert.equal(error.code, 'SOURCE_TIMEOUT')
    })

    it('maps a stalled body to SOURCE_TIMEOUT', TEST, async () => {
      const response = await impatient.fetch(request(`${base}/stall-body`))
      const error = await rejection(readAll(response.body))
      assert.equal(error.code, 'SOURCE_TIMEOUT')
    })

    it('maps an abort before the response to CANCELLED', TEST, async () => {
      const controller = new AbortController()
      const pending = source.fetch(request(`${base}/hang`, controller.signal))
      setTimeout(() => { controller.abort() }, 20)
      assert.equal((await rejection(pending)).code, 'CANCELLED')
      assert.equal((await rejection(source.stat(request(`${base}/hang`, controller.signal)))).code, 'CANCELLED')
    })

    it('fails the body with CANCELLED when aborted mid-stream', TEST, async () => {
      const controller = new AbortController()
      const response = await source.fetch(request(`${base}/stall-body`, controller.signal))
      const reading = readAll(response.body)
      controller.abort()
      assert.equal((await rejection(reading)).code, 'CANCELLED')
    })
  })

  describe('TLS', TEST, () => {
    const dir = mkdtempSync(join(tmpdir(), 'damselfly-tls-'))
    let origin = ''
    let caCertPem = ''
    let tlsServer: Server | undefined

    before(() => {
      execFileSync('openssl', [
        'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
        '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
      ], { stdio: 'ignore' })
      caCertPem = readFileSync(join(dir, 'cert.pem'), 'utf8')
    })

    before(async () => {
      tlsServer = createTlsServer({ key: readFileSync(join(dir, 'key.pem')), cert: caCertPem }, (_req, res) => {
        res.writeHead(200, { 'content-length': CONTENT.length, 'accept-ranges': 'bytes' }).end(CONTENT)
      })
      origin = `https://127.0.0.1:${await listen(tlsServer)}/file`
    })

    after(async () => {
      if (tlsServer !== undefined) {
        tlsServer.closeAllConnections()
        const closing = tlsServer
        await new Promise<void>((resolve) => closing.close(() => { resolve() }))
      }
      rmSync(dir, { recursive: true, force: true })
    })

    it('trusts an origin signed by the configured CA', TEST, async () => {
      const trusting = new HttpSource({}, { ...TIMEOUTS, caCertPem })
      try {
        const response = await trusting.fetch(request(origin))
        assert.deepEqual(await readAll(response.body), CONTENT)
      } finally {
        await trusting.close()
      }
    })

    it('refuses a self-signed origin without a CA, naming the certificate', TEST, async () => {
      const error = await rejection(source.stat(request(origin)))
      assert.equal(error.code, 'SOURCE_UNREACHABLE')
      assert.match(error.message, /^TLS verification of origin 127\.0\.0\.1:\d+ failed: .*certificate.*\(set a CA or insecure\)$/)
    })

    it('accepts any certificate when told to skip verification', TEST, async () => {
      const insecure = new HttpSource({}, { ...TIMEOUTS, insecureSkipVerify: true })
      try {
        const stat = await insecure.stat(request(origin))
        assert.equal(stat.contentLengthBytes, CONTENT.length)
      } finally {
        await insecure.close()
      }
    })
  })
})
