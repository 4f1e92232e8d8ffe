import assert from 'node:assert/strict'
import { PassThrough, Readable } from 'node:stream'
import { describe, it } from 'node:test'
import { DamselflyError, toDamselflyError } from '../protocol/damselfly-error.js'
import { countedBody } from './counted-body.js'
import { rejection } from './source-test-fixtures.js'

const TEST = { timeout: 10_000 }

function bodyOf(source: Readable, expectedBytes: number | undefined, signal = new AbortController().signal) {
  return countedBody(source, { expectedBytes, signal, describe: 'body of http://origin/file', mapError: (error) => toDamselflyError(error, 'SOURCE_UNREACHABLE') })
}

function chunksOf(...texts: string[]): Readable {
  return Readable.from(texts.map((text) => Buffer.from(text)), { objectMode: false })
}

describe('countedBody', () => {
  it('hands every chunk to the sink and resolves once the body ended with its length', TEST, async () => {
    const seen: string[] = []
    await bodyOf(chunksOf('ab', 'cd', 'e'), 5).pipeTo((chunk) => {
      seen.push(chunk.toString())
      return undefined
    })
    assert.deepEqual(seen, ['ab', 'cd', 'e'])
  })

  it('holds the next chunk back while the sink takes one, and waits for the last before resolving', TEST, async () => {
    const source = new PassThrough()
    const events: string[] = []
    let release!: () => void
    const reading = bodyOf(source, 4).pipeTo((chunk) => {
      events.push(`chunk ${chunk.toString()}`)
      if (chunk.toString() !== 'ab') return undefined
      return new Promise<void>((resolve) => {
        release = () => {
          events.push('released')
          resolve()
        }
      })
    })
    source.write('ab')
    source.end('cd')
    await new Promise((resolve) => setTimeout(resolve, 50))
    assert.deepEqual(events, ['chunk ab'], 'nothing more while the sink holds the first chunk')
    release()
    await reading
    assert.deepEqual(events, ['chunk ab', 'released', 'chunk cd'])
  })

  it('fails a short body and a long one with SOURCE_TRUNCATED', TEST, async () => {
    const short = await rejection(bodyOf(chunksOf('abc'), 5).pipeTo(() => undefined))
    assert.equal(short.code, 'SOURCE_TRUNCATED')
    assert.match(short.message, /ended after 3 of 5 bytes/)
    const long = bodyOf(chunksOf('abc', 'def'), 5)
    const error = await rejection(long.pipeTo(() => undefined))
    assert.equal(error.code, 'SOURCE_TRUNCATED')
    assert.match(error.message, /more than the 5 bytes announced/)
  })

  it('ends with what the sink threw or rejected with, and closes the source', TEST, async () => {
    const thrown = new PassThrough()
    const reading = bodyOf(thrown, undefined).pipeTo(() => {
      throw new DamselflyError('NO_SPACE', 'the disk is full')
    })
    thrown.write('a')
    assert.equal((await rejection(reading)).code, 'NO_SPACE')
    assert.ok(thrown.destroyed)

    const rejected = new PassThrough()
    const rejecting = bodyOf(rejected, undefined).pipeTo(() => Promise.reject(new DamselflyError('DIGEST_MISMATCH', 'the piece is not what the scheduler said')))
    rejected.write('a')
    assert.equal((await rejection(rejecting)).code, 'DIGEST_MISMATCH')
    assert.ok(rejected.destroyed)
  })

  it('maps the transfer\'s failure, also one before it is read, and a cancellation to CANCELLED', TEST, async () => {
    const early = new PassThrough()
    const body = bodyOf(early, 10)
    early.destroy(new Error('socket hang up'))
    await new Promise((resolve) => setImmediate(resolve))
    assert.equal((await rejection(body.pipeTo(() => undefined))).code, 'SOURCE_UNREACHABLE')

    const controller = new AbortController()
    const stalled = new PassThrough()
    const reading = bodyOf(stalled, 10, controller.signal).pipeTo(() => undefined)
    stalled.write('abc')
    controller.abort()
    assert.equal((await rejection(reading)).code, 'CANCELLED')
    assert.ok(stalled.destroyed)
  })

  it('fails with SOURCE_TRUNCATED when its source is closed without an end or an error', TEST, async () => {
    const source = new PassThrough()
    const reading = bodyOf(source, undefined).pipeTo(() => undefined)
    source.write('abc')
    await new Promise((resolve) => setImmediate(resolve))
    source.destroy()
    const error = await rejection(reading)
    assert.equal(error.code, 'SOURCE_TRUNCATED')
    assert.match(error.message, /closed after 3 of an unknown number of bytes/)
  })

  it('is read once, and discard closes its source', TEST, async () => {
    const body = bodyOf(chunksOf('ab'), 2)
    await body.pipeTo(() => undefined)
    assert.equal((await rejection(body.pipeTo(() => undefined))).code, 'INVALID_ARGUMENT')
    const unread = new PassThrough()
    bodyOf(unread, 2).discard()
    assert.ok(unread.destroyed)
  })
})
