import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import type { LookupAddress } from 'node:dns'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer, type RequestListener, type Server } from 'node:http'
import { createServer as createTlsServer } from 'node:https'
import type { AddressInfo, Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { AddressPolicy, DEFAULT_SOURCE_DENY } from './address-policy.js'
import { HttpSource, type HttpSourceInit } from './http-source.js'
import { policyConnector, type ResolveAll } from './policy-connector.js'
import type { SourceRequest } from './source.js'
import { readAll, rejection } from './source-test-fixtures.js'

const CONTENT = Buffer.from('content a seed peer fetches for other hosts')
const TIMEOUTS = { connectTimeoutMs: 2_000, headersTimeoutMs: 2_000, bodyIdleTimeoutMs: 2_000 }
const TEST = { timeout: 5_000 }
const ALLOW_KEY = 'seedPeer.sourcePolicy.allow'

/** A server on `host` port 0 that counts the TCP connections it accepts. */
class CountingServer {
  connections = 0
  constructor(readonly server: Server) {
    server.on('connection', () => this.connections++)
  }

  static async start(host: string, listener: RequestListener): Promise<CountingServer> {
    const counting = new CountingServer(createServer(listener))
    await new Promise<void>((resolve) => counting.server.listen(0, host, resolve))
    return counting
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port
  }

  async close(): Promise<void> {
    this.server.closeAllConnections()
    await new Promise<void>((resolve) => this.server.close(() => resolve()))
  }
}

const serveContent: RequestListener = (req, res) => {
  res.writeHead(200, { 'content-length': CONTENT.length, 'accept-ranges': 'bytes' }).end(req.method === 'HEAD' ? undefined : CONTENT)
}

function restricted(allow: readonly string[] = [], init: Partial<HttpSourceInit> = {}): HttpSource {
  return new HttpSource({}, { ...TIMEOUTS, ...init, addressPolicy: new AddressPolicy({ deny: DEFAULT_SOURCE_DENY, allow, allowKey: ALLOW_KEY }) })
}

function request(url: string): SourceRequest {
  return { url: new URL(url), headers: {}, signal: AbortSignal.timeout(4_000) }
}

describe('HttpSource with an address policy', TEST, () => {
  let origin!: CountingServer
  let sources: HttpSource[] = []

  before(async () => {
    origin = await CountingServer.start('127.0.0.1', serveContent)
  })

  after(async () => {
    await Promise.all(sources.map((source) => source.close()))
    sources = []
    await origin.close()
  })

  function source(allow: readonly string[] = []): HttpSource {
    const built = restricted(allow)
    sources.push(built)
    return built
  }

  it('refuses an origin on 127.0.0.1 without opening a connection, naming address, reason, URL and key', TEST, async () => {
    const before = origin.connections
    const error = await rejection(source().stat(request(`http://127.0.0.1:${origin.port}/file?X-Amz-Signature=secret`)))
    assert.equal(error.code, 'SOURCE_NOT_ALLOWED')
    assert.equal(error.httpStatus, 403)
    assert.equal(
      error.message,
      `source address policy refused http://127.0.0.1:${origin.port}/file: 127.0.0.1 is a loopback address (deny 127.0.0.0/8); to fetch it anyway, add it to ${ALLOW_KEY}`,
    )
    assert.doesNotMatch(error.message, /secret/)
    assert.equal(error.details.url, `http://127.0.0.1:${origin.port}/file`)
    assert.equal(origin.connections - before, 0, 'the origin saw no connection')
  })

  it('refuses ranged and whole fetches the same way', TEST, async () => {
    const before = origin.connections
    const refusing = source()
    const url = `http://127.0.0.1:${origin.port}/file`
    assert.equal((await rejection(refusing.fetchRange(request(url), { offset: 0, length: 4 }))).code, 'SOURCE_NOT_ALLOWED')
    assert.equal((await rejection(refusing.fetch(request(url)))).code, 'SOURCE_NOT_ALLOWED')
    assert.equal(origin.connections - before, 0)
  })

  it('refuses a hostname that resolves to a refused address (localhost)', TEST, async () => {
    const before = origin.connections
    const error = await rejection(source().stat(request(`http://localhost:${origin.port}/file`)))
    assert.equal(error.code, 'SOURCE_NOT_ALLOWED')
    assert.match(error.message, /^source address policy refused http:\/\/localhost:\d+\/file: localhost resolves to (127\.0\.0\.1|::1), a loopback address/)
    assert.equal(origin.connections - before, 0)
  })

  it('judges an IPv4-mapped IPv6 literal as its IPv4 address', TEST, async () => {
    const before = origin.connections
    const error = await rejection(source().stat(request(`http://[::ffff:127.0.0.1]:${origin.port}/file`)))
    assert.equal(error.code, 'SOURCE_NOT_ALLOWED')
    assert.match(error.message, /::ffff:7f00:1 \(127\.0\.0\.1\) is a loopback address/)
    assert.equal(origin.connections - before, 0)
  })

  it('refuses the metadata service address before any packet leaves', TEST, async () => {
    const error = await rejection(source().stat(request('http://169.254.169.254/latest/meta-data/')))
    assert.equal(error.code, 'SOURCE_NOT_ALLOWED')
    assert.match(error.message, /169\.254\.169\.254 is a cloud metadata service address \(deny 169\.254\.0\.0\/16\)/)
  })

  it('fetches from 127.0.0.1 when the allow list holds it, by address and by name', TEST, async () => {
    const allowing = source(['127.0.0.1/32', '::1/128'])
    const stat = await allowing.stat(request(`http://127.0.0.1:${origin.port}/file`))
    assert.equal(stat.contentLengthBytes, CONTENT.length)
    const response = await allowing.fetch(request(`http://localhost:${origin.port}/file`))
    assert.deepEqual(await readAll(response.body), CONTENT)
  })

  describe('redirects', TEST, () => {
    let refusedTarget!: CountingServer
    let redirecting!: CountingServer

    before(async () => {
      // Linux routes all of 127.0.0.0/8 to the loopback interface.
      refusedTarget = await CountingServer.start('127.0.0.2', serveContent)
      redirecting = await CountingServer.start('127.0.0.1', (_req, res) => {
        res.writeHead(302, { location: `http://127.0.0.2:${refusedTarget.port}/internal` }).end()
      })
    })

    after(async () => {
      await refusedTarget.close()
      await redirecting.close()
    })

    it('refuses a redirect from an allowed origin to a refused address', TEST, async () => {
      const error = await rejection(source(['127.0.0.1/32']).stat(request(`http://127.0.0.1:${redirecting.port}/moved`)))
      assert.equal(error.code, 'SOURCE_NOT_ALLOWED')
      assert.match(error.message, /^source address policy refused http:\/\/127\.0\.0\.1:\d+\/moved: 127\.0\.0\.2 is a loopback address/)
      assert.ok(redirecting.connections > 0, 'the allowed origin was asked')
      assert.equal(refusedTarget.connections, 0, 'the redirect target was never connected to')
    })
  })
})

describe('HttpSource with an address policy over TLS', TEST, () => {
  const dir = mkdtempSync(join(tmpdir(), 'damselfly-policy-tls-'))
  let caCertPem = ''
  let tlsServer: Server | undefined
  let port = 0
  let handshakes = 0

  before(async () => {
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost',
      '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
    ], { stdio: 'ignore' })
    caCertPem = readFileSync(join(dir, 'cert.pem'), 'utf8')
    const server = createTlsServer({ key: readFileSync(join(dir, 'key.pem')), cert: caCertPem }, serveContent)
    server.on('connection', () => handshakes++)
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    port = (server.address() as AddressInfo).port
    tlsServer = server
  })

  after(async () => {
    if (tlsServer !== undefined) {
      tlsServer.closeAllConnections()
      const closing = tlsServer
      await new Promise<void>((resolve) => closing.close(() => resolve()))
    }
    rmSync(dir, { recursive: true, force: true })
  })

  it('refuses https://localhost without connecting', TEST, async () => {
    const refusing = restricted([], { caCertPem })
    try {
      const error = await rejection(refusing.stat(request(`https://localhost:${port}/file`)))
      assert.equal(error.code, 'SOURCE_NOT_ALLOWED')
      assert.equal(handshakes, 0)
    } finally {
      await refusing.close()
    }
  })

  it('keeps verifying certificates against the configured CA when allowed', TEST, async () => {
    const allowing = restricted(['127.0.0.1/32'], { caCertPem })
    const untrusting = restricted(['127.0.0.1/32'])
    try {
      const response = await allowing.fetch(request(`https://localhost:${port}/file`))
      assert.deepEqual(await readAll(response.body), CONTENT)
      assert.equal((await rejection(untrusting.stat(request(`https://127.0.0.1:${port}/file`)))).code, 'SOURCE_UNREACHABLE')
    } finally {
      await allowing.close()
      await untrusting.close()
    }
  })
})

describe('policyConnector', TEST, () => {
  let origin!: CountingServer

  before(async () => {
    origin = await CountingServer.start('127.0.0.1', serveContent)
  })

  after(async () => {
    await origin.close()
  })

  /** Connects to `hostname` at the origin's port, with names resolved to `answers`. */
  function connect(hostname: string, answers: LookupAddress[], allow: readonly string[]): Promise<Socket> {
    const resolve: ResolveAll = (_name, _options, callback) => {
      callback(null, answers)
    }
    const policy = new AddressPolicy({ deny: DEFAULT_SOURCE_DENY, allow, allowKey: ALLOW_KEY })
    const connector = policyConnector({ policy, resolve }, { timeout: 2_000 })
    return new Promise((done, fail) => {
      connector({ hostname, protocol: 'http:', port: String(origin.port) }, (error, socket) => {
        if (error === null) done(socket)
        else fail(error)
      })
    })
  }

  it('connects to a name whose every answer is allowed', TEST, async () => {
    const socket = await connect('origin.test', [{ address: '127.0.0.1', family: 4 }], ['127.0.0.1/32'])
    assert.equal(socket.remoteAddress, '127.0.0.1')
    socket.destroy()
  })

  const refused: ReadonlyArray<{ name: string; answers: LookupAddress[] }> = [
    { name: 'one refused answer among allowed ones', answers: [{ address: '127.0.0.1', family: 4 }, { address: '169.254.169.254', family: 4 }] },
    { name: 'an IPv4-mapped answer', answers: [{ address: '::ffff:169.254.169.254', family: 6 }] },
    { name: 'a link-local IPv6 answer with a zone', answers: [{ address: 'fe80::1%lo', family: 6 }] },
  ]
  for (const { name, answers } of refused) {
    it(`refuses a name with ${name}`, TEST, async () => {
      const before = origin.connections
      await assert.rejects(connect('origin.test', answers, ['127.0.0.1/32']), (error: unknown) => {
        assert.ok(error instanceof Error && 'code' in error)
        assert.equal(error.code, 'SOURCE_NOT_ALLOWED')
        assert.match(error.message, /^origin\.test resolves to /)
        return true
      })
      assert.equal(origin.connections - before, 0)
    })
  }
})
