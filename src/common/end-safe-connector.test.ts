import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net'
import { PassThrough } from 'node:stream'
import { setTimeout as sleep } from 'node:timers/promises'
import { after, before, describe, it } from 'node:test'
import { Agent } from 'undici'
import { endSafeConnector } from './end-safe-connector.js'
import { TokenBucket } from './token-bucket.js'

const MiB = 1024 * 1024
const BODY = randomBytes(MiB)
const TEST = { timeout: 20_000 }

/** How the origin frames the body before it closes the connection. */
const FRAMINGS: Record<string, (socket: Socket) => void> = {
  'Content-Length and Connection: close': (socket) => {
    socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${BODY.length}\r\nConnection: close\r\n\r\n`)
    socket.end(BODY)
  },
  'chunked and Connection: close': (socket) => {
    socket.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n')
    for (let offset = 0; offset < BODY.length; offset += 256 * 1024) {
      const chunk = BODY.subarray(offset, offset + 256 * 1024)
      socket.write(`${chunk.length.toString(16)}\r\n`)
      socket.write(chunk)
      socket.write('\r\n')
    }
    socket.end('0\r\n\r\n')
  },
  'HTTP/1.0 ending at the close, as python\'s http.server': (socket) => {
    socket.write('HTTP/1.0 200 OK\r\nContent-Type: application/octet-stream\r\n\r\n')
    socket.end(BODY)
  },
}

describe('endSafeConnector', TEST, () => {
  let server!: Server
  let agent!: Agent
  let base = ''

  before(async () => {
    server = createServer((socket) => {
      socket.once('data', (request) => {
        const path = /^GET (\S+)/.exec(request.toString('latin1'))?.[1] ?? ''
        const framing = FRAMINGS[decodeURIComponent(path.slice(1))]
        if (framing === undefined) socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n')
        else framing(socket)
      })
      socket.on('error', () => undefined)
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    agent = new Agent({ connect: endSafeConnector({ timeout: 2_000 }) })
  })

  after(async () => {
    await (agent as Agent | undefined)?.close()
    await new Promise<void>((resolve) => (server as Server | undefined)?.close(() => resolve()) ?? resolve())
  })

  for (const name of Object.keys(FRAMINGS)) {
    it(`reads a whole body held back by a rate limit from an origin that closes after it: ${name}`, TEST, async () => {
      // 1 MiB at 4 MiB/s: the reader falls behind, so the parser pauses while the socket ends.
      const bucket = new TokenBucket({}, { rateBytesPerSecond: 4 * MiB, burstBytes: 64 * 1024 })
      const signal = AbortSignal.timeout(10_000)
      const response = await agent.request({ origin: base, path: `/${encodeURIComponent(name)}`, method: 'GET', signal })
      assert.equal(response.statusCode, 200)
      const hash = createHash('sha256')
      let receivedBytes = 0
      // Piped on, as every reader of a body does (byte counting, a proxied response).
      for await (const chunk of response.body.pipe(new PassThrough()) as AsyncIterable<Buffer>) {
        await bucket.take(chunk.length, signal)
        hash.update(chunk)
        receivedBytes += chunk.length
      }
      assert.equal(receivedBytes, BODY.length)
      assert.equal(hash.digest('hex'), createHash('sha256').update(BODY).digest('hex'))
    })
  }
})

describe('endSafeConnector, a reader whose buffer is full when the origin closes', TEST, () => {
  it('waits for the parser to run again before the socket ends (HTTP/1.0, the body runs to the close)', TEST, async () => {
    // 96 KiB fills the body's 64 KiB buffer: the parser pauses on the last bytes, the FIN arrives
    // behind them, and the reader's next read resumes a parser that pauses again on nothing.
    const body = BODY.subarray(0, 96 * 1024)
    const server = createServer((socket) => {
      socket.once('data', () => {
        socket.write('HTTP/1.0 200 OK\r\n\r\n')
        socket.end(body)
      })
      socket.on('error', () => undefined)
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const agent = new Agent({ connect: endSafeConnector({ timeout: 2_000 }) })
    try {
      const signal = AbortSignal.timeout(10_000)
      const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
      const response = await agent.request({ origin, path: '/', method: 'GET', signal })
      await sleep(200, undefined, { signal }) // every byte and the FIN are in before the first read
      let ended = false
      response.body.once('end', () => (ended = true))
      const chunks: Buffer[] = []
      while (!ended) {
        const chunk = response.body.read() as Buffer | null
        if (chunk !== null) chunks.push(chunk)
        await sleep(20, undefined, { signal }) // one read at a time, as a rate-limited reader
      }
      assert.ok(Buffer.concat(chunks).equals(body))
    } finally {
      await agent.close()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  })
})
