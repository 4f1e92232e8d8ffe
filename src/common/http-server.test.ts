import assert from 'node:assert/strict'
import { once } from 'node:events'
import { createServer, get, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Writable } from 'node:stream'
import { describe, it } from 'node:test'
import { hangUpSignal, writeChunk } from './http-server.js'

/** A response whose writes complete only when the test says so. */
function heldResponse(): { res: Writable; complete: (error?: Error) => void; written: Buffer[] } {
  const pending: Array<(error?: Error) => void> = []
  const written: Buffer[] = []
  const res = new Writable({
    highWaterMark: 1,
    write(chunk: Buffer, _encoding, callback) {
      written.push(Buffer.from(chunk))
      pending.push(callback)
    },
  })
  res.on('error', () => undefined)
  return { res, written, complete: (error) => pending.shift()?.(error) }
}

async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false
  promise.then(() => (done = true), () => (done = true))
  await new Promise((resolve) => setImmediate(resolve))
  return done
}

describe('writeChunk', () => {
  it('resolves only once the response took the chunk', async () => {
    const { res, complete, written } = heldResponse()
    const writing = writeChunk(res, Buffer.from('abc'), new AbortController().signal)
    assert.equal(await settled(writing), false, 'resolved before the write completed')
    complete()
    await writing
    assert.deepEqual(written, [Buffer.from('abc')])
  })

  it('rejects with the write\'s error', async () => {
    const { res, complete } = heldResponse()
    const failure = new Error('socket reset')
    const writing = writeChunk(res, Buffer.from('abc'), new AbortController().signal)
    complete(failure)
    await assert.rejects(writing, (error: unknown) => error === failure)
  })

  it('rejects with the abort reason when the client goes away under a write that never completes, or before it', async () => {
    const { res } = heldResponse()
    const client = new AbortController()
    const writing = writeChunk(res, Buffer.from('abc'), client.signal)
    const gone = new Error('the client went away')
    client.abort(gone)
    await assert.rejects(writing, (error: unknown) => error === gone)
    await assert.rejects(writeChunk(res, Buffer.from('def'), client.signal), (error: unknown) => error === gone)
  })
})

describe('hangUpSignal', { timeout: 10_000 }, () => {
  /** A server whose one response is handed to `respond`, with its hang-up signal; resolves with that signal once the response closed. */
  async function serveOnce(respond: (res: ServerResponse) => void, client: (url: string) => void): Promise<AbortSignal> {
    let closed: Promise<AbortSignal> | undefined
    const server = createServer((_req, res) => {
      const signal = hangUpSignal(res)
      closed = once(res, 'close').then(() => signal)
      respond(res)
    })
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    try {
      client(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`)
      while (closed === undefined) await new Promise((resolve) => setTimeout(resolve, 5))
      return await closed
    } finally {
      server.closeAllConnections()
      server.close()
    }
  }

  it('aborts when the client hangs up before the response was all sent', async () => {
    const signal = await serveOnce((res) => {
      res.writeHead(200, { 'content-length': 1000 }).write('only the first bytes')
    }, (url) => {
      const request = get(url, (answer) => {
        answer.once('data', () => request.destroy())
      })
      request.on('error', () => undefined)
    })
    assert.equal(signal.aborted, true)
  })

  it('stays quiet for a response that was all sent', async () => {
    const signal = await serveOnce((res) => {
      res.writeHead(200, { 'content-length': 5 }).end('whole')
    }, (url) => {
      get(url, (answer) => answer.resume()).on('error', () => undefined)
    })
    assert.equal(signal.aborted, false)
  })
})
