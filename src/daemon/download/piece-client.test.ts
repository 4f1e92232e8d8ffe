import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import { createServer as createNetServer, type AddressInfo, type Server, type Socket } from 'node:net'
import { after, describe, it } from 'node:test'
import type { LocalIdentity } from '../../security/local-identity.js'
import { parentClientTlsOptions } from '../../security/peer-tls.js'
import { testCa, testIdentity } from '../../security/security-fixtures.js'
import { UPLOAD_KEEP_ALIVE_TIMEOUT_MS } from '../upload/upload-server.js'
import { PIECE_CLIENT_DEFAULTS, PieceClient, type ParentAddress, type PieceClientInit } from './piece-client.js'

const TIMEOUT = { timeout: 10_000 }
const CONTENT = randomBytes(3 * 1024 * 1024 + 17)

/** An upload server stand-in: ranged GETs of CONTENT, or what `answer` says for a path. */
async function startParent(options: { keepAliveTimeoutMs?: number; answer?: (path: string) => { status: number; body: string } | undefined } = {}): Promise<{ server: HttpServer; address: ParentAddress; connections: () => number }> {
  let connections = 0
  const server = createHttpServer((req, res) => {
    const special = options.answer?.(req.url ?? '')
    if (special !== undefined) {
      res.writeHead(special.status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(special.body) }).end(special.body)
      return
    }
    const [, start, end] = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '') ?? []
    const body = CONTENT.subarray(Number(start), Number(end) + 1)
    res.writeHead(206, { 'content-length': body.length, 'content-range': `bytes ${start ?? ''}-${end ?? ''}/${CONTENT.length}` }).end(body)
  })
  server.keepAliveTimeout = options.keepAliveTimeoutMs ?? 5_000
  server.on('connection', () => connections++)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { server, address: { host: '127.0.0.1', port: (server.address() as AddressInfo).port, tls: false }, connections: () => connections }
}

/** A server that answers each request with `reply`, raw bytes on the socket. */
async function startRawParent(reply: (socket: Socket) => void): Promise<{ server: Server; address: ParentAddress }> {
  const server = createNetServer((socket) => {
    socket.once('data', () => reply(socket))
    socket.on('error', () => undefined)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { server, address: { host: '127.0.0.1', port: (server.address() as AddressInfo).port, tls: false } }
}

function range(start: number, end: number): { path: string; headers: Record<string, string> } {
  return { path: '/download/abc/x', headers: { range: `bytes=${start}-${end}` } }
}

describe('PieceClient', () => {
  const servers: Array<{ close(): unknown; closeAllConnections?: () => void }> = []
  const clients: PieceClient[] = []
  const client = (init: Partial<PieceClientInit> = {}): PieceClient => {
    const made = new PieceClient({ ...PIECE_CLIENT_DEFAULTS, tls: undefined, ...init })
    clients.push(made)
    return made
  }
  after(() => {
    for (const made of clients) made.close()
    for (const server of servers) {
      server.closeAllConnections?.()
      server.close()
    }
  })

  it('hands a 206 body to the sink as it arrives and reuses the connection for the next piece', TIMEOUT, async () => {
    const parent = await startParent()
    servers.push(parent.server)
    const pieces = client()
    for (const [start, end] of [[0, 2 * 1024 * 1024 - 1], [2 * 1024 * 1024, CONTENT.length - 1]] as const) {
      const chunks: Buffer[] = []
      const answer = await pieces.get(parent.address, range(start, end), (chunk) => {
        // The chunk is the connection's read buffer: only a copy outlives the call.
        chunks.push(Buffer.from(chunk))
        return undefined
      }, AbortSignal.timeout(5_000))
      assert.equal(answer.status, 206)
      assert.ok(chunks.length > 1, 'a piece of megabytes arrives in several reads')
      assert.deepEqual(Buffer.concat(chunks), CONTENT.subarray(start, end + 1))
    }
    assert.equal(parent.connections(), 1)
  })

  it('returns a non-206 answer with its body, and the connection serves the next request', TIMEOUT, async () => {
    const parent = await startParent({ answer: (path) => (path.endsWith('busy') ? { status: 503, body: '{"error":{"code":"TOO_MANY_UPLOADS"}}' } : undefined) })
    servers.push(parent.server)
    const pieces = client()
    const refused = await pieces.get(parent.address, { path: '/busy', headers: {} }, () => assert.fail('no body for an error'), AbortSignal.timeout(5_000))
    assert.equal(refused.status, 503)
    assert.match(refused.body.toString(), /"code":"TOO_MANY_UPLOADS"/)
    const served = await pieces.get(parent.address, range(0, 9), () => undefined, AbortSignal.timeout(5_000))
    assert.equal(served.status, 206)
    assert.equal(parent.connections(), 1)
  })

  it('pauses the socket while the sink waits', TIMEOUT, async () => {
    const parent = await startParent()
    servers.push(parent.server)
    let release: () => void = () => undefined
    const gate = new Promise<void>((resolve) => {
      release = resolve
    })
    let calls = 0
    let received = 0
    const answer = client().get(parent.address, range(0, CONTENT.length - 1), (chunk) => {
      calls++
      received += chunk.length
      return calls === 1 ? gate : undefined
    }, AbortSignal.timeout(5_000))
    await new Promise((resolve) => setTimeout(resolve, 200))
    assert.equal(calls, 1, 'no bytes reach the sink while it waits')
    release()
    assert.equal((await answer).status, 206)
    assert.equal(received, CONTENT.length)
  })

  it('keeps an idle connection across a slow download\'s gaps, and closes it before the parent would', TIMEOUT, () => {
    // A child on a slow link asks one parent for a piece every few seconds; a reconnect costs a TLS handshake each.
    assert.ok(PIECE_CLIENT_DEFAULTS.keepAliveMs >= 30_000, `keep-alive ${PIECE_CLIENT_DEFAULTS.keepAliveMs} ms`)
    assert.ok(PIECE_CLIENT_DEFAULTS.keepAliveMs < UPLOAD_KEEP_ALIVE_TIMEOUT_MS, 'the child closes first, so it never sends on a connection the parent is closing')
  })

  it('sends a request again on a fresh connection when the parent closed the idle one', TIMEOUT, async () => {
    const parent = await startParent({ keepAliveTimeoutMs: 50 })
    servers.push(parent.server)
    const pieces = client({ keepAliveMs: 60_000 })
    await pieces.get(parent.address, range(0, 99), () => undefined, AbortSignal.timeout(5_000))
    // Node's server closes an idle connection a second after its keep-alive timeout.
    await new Promise((resolve) => setTimeout(resolve, 1_300))
    const answer = await pieces.get(parent.address, range(100, 199), () => undefined, AbortSignal.timeout(5_000))
    assert.equal(answer.status, 206)
    assert.equal(parent.connections(), 2)
  })

  it('sends a request again when a reused connection closes before answering', TIMEOUT, async () => {
    let connections = 0
    const server = createNetServer((socket) => {
      const connection = ++connections
      let requests = 0
      socket.on('data', () => {
        requests++
        // The first connection dies under its second request, as when a parent closes an idle connection just then.
        if (connection === 1 && requests === 2) socket.destroy()
        else socket.write('HTTP/1.1 206 Partial Content\r\ncontent-length: 2\r\n\r\nok')
      })
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    servers.push(server)
    const address = { host: '127.0.0.1', port: (server.address() as AddressInfo).port, tls: false }
    const pieces = client()
    for (let i = 0; i < 2; i++) assert.equal((await pieces.get(address, range(0, 1), () => undefined, AbortSignal.timeout(5_000))).status, 206)
    assert.equal(connections, 2)
  })

  it('reads a head that arrives in several reads, split inside its blank line, with body bytes after it', TIMEOUT, async () => {
    const body = CONTENT.subarray(0, 64 * 1024)
    const head = `HTTP/1.1 206 Partial Content\r\ncontent-length: ${body.length}\r\nx-padding: ${'p'.repeat(3000)}\r\n\r\n`
    const answer = Buffer.concat([Buffer.from(head, 'latin1'), body])
    // Cut after "HTTP/1", inside the padding, between the blank line's two CRLFs, and inside the body.
    const cuts = [6, 1500, head.length - 2, head.length + 1000, answer.length]
    const parent = await startRawParent((socket) => {
      socket.setNoDelay(true)
      let from = 0
      const next = (): void => {
        const to = cuts.shift()
        if (to === undefined) return
        socket.write(answer.subarray(from, to))
        from = to
        setTimeout(next, 20)
      }
      next()
    })
    servers.push(parent.server)
    const chunks: Buffer[] = []
    const got = await client().get(parent.address, range(0, body.length - 1), (chunk) => {
      chunks.push(Buffer.from(chunk))
      return undefined
    }, AbortSignal.timeout(5_000))
    assert.equal(got.status, 206)
    assert.deepEqual(Buffer.concat(chunks), body)
  })

  it('fails a request whose parent goes silent, with PARENT_FAILED, after the idle timeout', TIMEOUT, async () => {
    const parent = await startRawParent((socket) => socket.write('HTTP/1.1 206 Partial Content\r\ncontent-length: 100\r\n\r\nfirst bytes'))
    servers.push(parent.server)
    const started = Date.now()
    await assert.rejects(client({ idleTimeoutMs: 200 }).get(parent.address, range(0, 99), () => undefined, AbortSignal.timeout(5_000)), (error: Error & { code?: string }) => {
      assert.equal(error.code, 'PARENT_FAILED')
      assert.match(error.message, /sent nothing for 200 ms/)
      return true
    })
    assert.ok(Date.now() - started < 2_000)
  })

  it('fails a request whose parent never completes the TLS handshake, after the idle timeout', TIMEOUT, async () => {
    const server = createNetServer((socket) => {
      socket.on('error', () => undefined)
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    servers.push(server)
    const address = { host: '127.0.0.1', port: (server.address() as AddressInfo).port, tls: true }
    await assert.rejects(client({ idleTimeoutMs: 200 }).get(address, range(0, 1), () => undefined, AbortSignal.timeout(5_000)), (error: Error & { code?: string }) => {
      assert.equal(error.code, 'PARENT_FAILED')
      assert.match(error.message, /sent nothing for 200 ms/)
      return true
    })
  })

  for (const [name, response, pattern] of [
    ['without a content-length', 'HTTP/1.1 206 Partial Content\r\n\r\nbytes', /without a content-length/],
    ['a chunked body', 'HTTP/1.1 206 Partial Content\r\ntransfer-encoding: chunked\r\n\r\n5\r\nbytes\r\n0\r\n\r\n', /transfer-encoding/],
    ['more bytes than its content-length', 'HTTP/1.1 206 Partial Content\r\ncontent-length: 2\r\n\r\nbytes', /more bytes than its content-length/],
    ['something other than HTTP/1.1', 'SSH-2.0-OpenSSH_9.2\r\n\r\n', /other than HTTP\/1\.1/],
    ['a head that never ends', `HTTP/1.1 206 Partial Content\r\nx: ${'a'.repeat(20_000)}`, /response head over/],
    ['a huge error body', 'HTTP/1.1 500 Internal Server Error\r\ncontent-length: 100000000\r\n\r\n{', /500 with a 100000000-byte body/],
  ] as const) {
    it(`refuses an answer with ${name}`, TIMEOUT, async () => {
      const parent = await startRawParent((socket) => socket.write(response))
      servers.push(parent.server)
      await assert.rejects(client({ idleTimeoutMs: 2_000 }).get(parent.address, range(0, 1), () => undefined, AbortSignal.timeout(5_000)), (error: Error & { code?: string }) => {
        assert.equal(error.code, 'PARENT_FAILED')
        assert.match(error.message, pattern)
        return true
      })
    })
  }

  it('rejects with the signal\'s reason when aborted mid-body, and closes that connection', TIMEOUT, async () => {
    let closed = false
    const parent = await startRawParent((socket) => {
      socket.write('HTTP/1.1 206 Partial Content\r\ncontent-length: 100\r\n\r\nfirst bytes')
      socket.on('close', () => {
        closed = true
      })
    })
    servers.push(parent.server)
    const abort = new AbortController()
    const answer = client().get(parent.address, range(0, 99), () => {
      abort.abort(new Error('moved to another parent'))
      return undefined
    }, abort.signal)
    await assert.rejects(answer, /moved to another parent/)
    for (let waited = 0; !closed && waited < 2_000; waited += 20) await new Promise((resolve) => setTimeout(resolve, 20))
    assert.ok(closed, 'the parent sees the connection close')
  })

  it('fails the request with what the sink threw', TIMEOUT, async () => {
    const parent = await startParent()
    servers.push(parent.server)
    await assert.rejects(client().get(parent.address, range(0, 99), () => {
      throw Object.assign(new Error('piece 0 holds at most 10 bytes'), { code: 'INVALID_ARGUMENT' })
    }, AbortSignal.timeout(5_000)), /piece 0 holds at most 10 bytes/)
  })

  it('queues requests beyond its connections per parent', TIMEOUT, async () => {
    const parent = await startParent()
    servers.push(parent.server)
    const pieces = client({ connectionsPerParent: 1 })
    const answers = await Promise.all([0, 1, 2].map((n) => pieces.get(parent.address, range(n * 1000, n * 1000 + 999), () => undefined, AbortSignal.timeout(5_000))))
    assert.deepEqual(answers.map((answer) => answer.status), [206, 206, 206])
    assert.equal(parent.connections(), 1)
  })

  it('talks only to a parent whose certificate is a seed\'s or a normal host\'s from its own CA', TIMEOUT, async () => {
    const ca = await testCa()
    const own = await testIdentity(ca, 'normal')
    /** A TLS server showing `as`'s certificate, answering every request with a two-byte piece; it asks no client certificate. */
    const serverAs = async (as: LocalIdentity): Promise<ParentAddress> => {
      const server = createHttpsServer({ key: as.keyPem, cert: as.certPem }, (_req, res) => {
        res.writeHead(206, { 'content-length': 2 }).end('ok')
      })
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
      servers.push(server)
      return { host: '127.0.0.1', port: (server.address() as AddressInfo).port, tls: true }
    }
    const pieces = client({ tls: parentClientTlsOptions(own) })
    const impostors = [['another CA\'s host', await testIdentity(await testCa('Other CA'), 'normal')], ['a scheduler of the cluster', await testIdentity(ca, 'scheduler')]] as const
    for (const [name, impostor] of impostors) {
      let received = 0
      await assert.rejects(pieces.get(await serverAs(impostor), range(0, 1), (chunk) => {
        received += chunk.length
        return undefined
      }, AbortSignal.timeout(5_000)), (error: Error & { code?: string }) => error.code === 'PARENT_FAILED', name)
      assert.equal(received, 0, `${name}: not a byte taken`)
    }
    for (const role of ['normal', 'seed'] as const) {
      const answer = await pieces.get(await serverAs(await testIdentity(ca, role)), range(0, 1), () => undefined, AbortSignal.timeout(5_000))
      assert.equal(answer.status, 206, role)
    }
  })

  it('refuses a header value that would end the line', TIMEOUT, async () => {
    const parent = await startParent()
    servers.push(parent.server)
    await assert.rejects(client().get(parent.address, { path: '/x', headers: { 'x-capability': 'a\r\nhost: evil' } }, () => undefined, AbortSignal.timeout(5_000)), /characters a request header may not hold/)
  })
})
