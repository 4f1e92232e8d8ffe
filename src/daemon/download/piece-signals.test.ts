import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { DamselflyError } from '../../protocol/damselfly-error.js'
import { PieceSignals } from './piece-signals.js'

const TEST = { timeout: 10_000 }
const NOT_STORED = (): boolean => false

type State = { settled: false } | { settled: true; value: boolean } | { settled: true; error: unknown }

/** Follows a promise so a test can look at whether and how it settled. */
function watch(promise: Promise<boolean>): { readonly state: State } {
  const watched: { state: State } = { state: { settled: false } }
  promise.then(
    (value) => { watched.state = { settled: true, value } },
    (error: unknown) => { watched.state = { settled: true, error } },
  )
  return watched
}

async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve()
}

function live(): AbortSignal {
  return new AbortController().signal
}

function isCancelled(error: unknown): boolean {
  return error instanceof DamselflyError && error.code === 'CANCELLED'
}

describe('PieceSignals', TEST, () => {
  it('a piece ready before the wait resolves true at once', TEST, async () => {
    const signals = new PieceSignals()
    signals.ready(2)
    assert.equal(await signals.wait(2, live(), NOT_STORED), true)
  })

  it('a piece already stored resolves true at once', TEST, async () => {
    const signals = new PieceSignals()
    assert.equal(await signals.wait(7, live(), () => true), true)
  })

  it('a wait before the piece is ready resolves true when it is, and only then', TEST, async () => {
    const signals = new PieceSignals()
    const first = watch(signals.wait(1, live(), NOT_STORED))
    const second = watch(signals.wait(1, live(), NOT_STORED))
    const other = watch(signals.wait(2, live(), NOT_STORED))
    signals.ready(0)
    await settle()
    assert.deepEqual([first.state, second.state, other.state], [{ settled: false }, { settled: false }, { settled: false }])
    signals.ready(1)
    await settle()
    assert.deepEqual([first.state, second.state, other.state], [{ settled: true, value: true }, { settled: true, value: true }, { settled: false }])
  })

  it('end resolves waiters beyond the end with false and leaves the others waiting', TEST, async () => {
    const signals = new PieceSignals()
    const inside = watch(signals.wait(2, live(), NOT_STORED))
    const atEnd = watch(signals.wait(3, live(), NOT_STORED))
    const beyond = watch(signals.wait(9, live(), NOT_STORED))
    signals.end(3)
    await settle()
    assert.deepEqual(inside.state, { settled: false })
    assert.deepEqual(atEnd.state, { settled: true, value: false })
    assert.deepEqual(beyond.state, { settled: true, value: false })
    signals.ready(2)
    await settle()
    assert.deepEqual(inside.state, { settled: true, value: true })
  })

  it('a wait after end beyond it resolves false at once; within it still waits', TEST, async () => {
    const signals = new PieceSignals()
    signals.end(2)
    assert.equal(await signals.wait(2, live(), NOT_STORED), false)
    assert.equal(await signals.wait(100, live(), NOT_STORED), false)
    const within = watch(signals.wait(1, live(), NOT_STORED))
    await settle()
    assert.deepEqual(within.state, { settled: false })
    signals.ready(1)
    await settle()
    assert.deepEqual(within.state, { settled: true, value: true })
  })

  it('end(0) tells every waiter there is nothing', TEST, async () => {
    const signals = new PieceSignals()
    const waiter = watch(signals.wait(0, live(), NOT_STORED))
    signals.end(0)
    await settle()
    assert.deepEqual(waiter.state, { settled: true, value: false })
  })

  it('fail rejects every waiter, and later waits, with the failure', TEST, async () => {
    const signals = new PieceSignals()
    const waiters = [0, 0, 1, 5].map((number) => watch(signals.wait(number, live(), NOT_STORED)))
    const failure = new DamselflyError('SOURCE_STATUS', 'origin answered 404', { details: { sourceStatus: 404 } })
    signals.fail(failure)
    await settle()
    for (const waiter of waiters) assert.deepEqual(waiter.state, { settled: true, error: failure })
    await assert.rejects(signals.wait(3, live(), NOT_STORED), (error: unknown) => error === failure)
  })

  it('a piece ready before the failure still resolves true', TEST, async () => {
    const signals = new PieceSignals()
    signals.ready(0)
    signals.fail(new Error('later failure'))
    assert.equal(await signals.wait(0, live(), NOT_STORED), true)
  })

  it('an abort rejects that waiter only, with CANCELLED', TEST, async () => {
    const signals = new PieceSignals()
    const controller = new AbortController()
    const aborted = watch(signals.wait(4, controller.signal, NOT_STORED))
    const samePiece = watch(signals.wait(4, live(), NOT_STORED))
    const otherPiece = watch(signals.wait(5, live(), NOT_STORED))
    controller.abort()
    await settle()
    assert.ok(aborted.state.settled && 'error' in aborted.state && isCancelled(aborted.state.error), JSON.stringify(aborted.state))
    assert.deepEqual(samePiece.state, { settled: false })
    assert.deepEqual(otherPiece.state, { settled: false })
    signals.ready(4)
    signals.ready(5)
    await settle()
    assert.deepEqual(samePiece.state, { settled: true, value: true })
    assert.deepEqual(otherPiece.state, { settled: true, value: true })
  })

  it('a signal aborted before the wait rejects with CANCELLED', TEST, async () => {
    const signals = new PieceSignals()
    const controller = new AbortController()
    controller.abort()
    await assert.rejects(signals.wait(0, controller.signal, NOT_STORED), isCancelled)
  })

  it('an abort after the piece was ready changes nothing', TEST, async () => {
    const signals = new PieceSignals()
    const controller = new AbortController()
    const waiter = signals.wait(0, controller.signal, NOT_STORED)
    signals.ready(0)
    controller.abort()
    assert.equal(await waiter, true)
  })
  it('readHead is the lowest piece a registered reader needs next, until it is released', TEST, () => {
    const signals = new PieceSignals()
    assert.equal(signals.readHead(), undefined)
    const ahead = signals.reader()
    const behind = signals.reader()
    ahead.at(7)
    assert.equal(signals.readHead(), 7)
    behind.at(2)
    assert.equal(signals.readHead(), 2)
    behind.at(9)
    assert.equal(signals.readHead(), 7, 'a reader moves on')
    ahead.release()
    ahead.release()
    assert.equal(signals.readHead(), 9)
    behind.release()
    assert.equal(signals.readHead(), undefined)
  })
})
