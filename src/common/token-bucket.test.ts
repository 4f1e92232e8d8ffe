import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { InstantClock } from './instant-clock.js'
import { ManualClock } from './manual-clock.js'
import { TokenBucket } from './token-bucket.js'

const TEST = { timeout: 10_000 }
const KIB = 1024
const MIB = 1024 * KIB

/** Lets every queued promise callback run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve()
}

describe('TokenBucket', TEST, () => {
  for (const rateBytesPerSecond of [0, -1, Number.POSITIVE_INFINITY]) {
    it(`a rate of ${rateBytesPerSecond} is unlimited and never waits`, TEST, async () => {
      const clock = new InstantClock()
      const bucket = new TokenBucket({ clock }, { rateBytesPerSecond })
      for (let i = 0; i < 100; i++) await bucket.take(64 * MIB)
      assert.deepEqual(clock.sleeps, [])
    })
  }

  it('3 MiB at 1 MiB/s in 64 KiB chunks takes about 3 s minus the burst', TEST, async () => {
    const clock = new InstantClock()
    const rateBytesPerSecond = 1 * MIB
    const bucket = new TokenBucket({ clock }, { rateBytesPerSecond })
    // The default burst is a tenth of a second's worth, and at least 64 KiB.
    const burstBytes = rateBytesPerSecond / 10
    for (let taken = 0; taken < 3 * MIB; taken += 64 * KIB) await bucket.take(64 * KIB)
    const expectedMs = ((3 * MIB - burstBytes) / rateBytesPerSecond) * 1000
    assert.ok(Math.abs(clock.sleptMs - expectedMs) <= 50, `slept ${clock.sleptMs} ms, expected about ${expectedMs} ms`)
    assert.ok(clock.sleeps.every((delayMs) => delayMs > 0 && delayMs <= 100), `each wait stays within one burst: ${clock.sleeps.join(',')}`)
  })

  it('a burst is served at once, then the rate applies', TEST, async () => {
    const clock = new InstantClock()
    const bucket = new TokenBucket({ clock }, { rateBytesPerSecond: 100 * KIB, burstBytes: 200 * KIB })
    await bucket.take(100 * KIB)
    await bucket.take(100 * KIB)
    assert.deepEqual(clock.sleeps, [])
    await bucket.take(100 * KIB)
    assert.deepEqual(clock.sleeps, [1000])
  })

  it('a chunk larger than the burst passes and the next caller waits off the debt', TEST, async () => {
    const clock = new InstantClock()
    const bucket = new TokenBucket({ clock }, { rateBytesPerSecond: 100 * KIB, burstBytes: 100 * KIB })
    await bucket.take(300 * KIB)
    assert.deepEqual(clock.sleeps, [])
    await bucket.take(1)
    // 200 KiB of debt plus one byte at 100 KiB/s.
    assert.equal(clock.sleeps.length, 1)
    assert.ok(Math.abs((clock.sleeps[0] ?? 0) - 2000) <= 1, `waited ${clock.sleeps[0]} ms`)
  })

  it('time passing refills the bucket, up to the burst', TEST, async () => {
    const clock = new InstantClock()
    const bucket = new TokenBucket({ clock }, { rateBytesPerSecond: 100 * KIB, burstBytes: 100 * KIB })
    await bucket.take(100 * KIB)
    clock.advance(60_000)
    await bucket.take(100 * KIB)
    assert.deepEqual(clock.sleeps, [])
    await bucket.take(100 * KIB)
    assert.deepEqual(clock.sleeps, [1000])
  })

  it('serves takes in order: a small take does not pass a large one waiting', TEST, async () => {
    const clock = new ManualClock()
    const bucket = new TokenBucket({ clock }, { rateBytesPerSecond: 100 * KIB, burstBytes: 100 * KIB })
    await bucket.take(100 * KIB)
    const served: string[] = []
    const takes = [
      bucket.take(100 * KIB).then(() => served.push('large')),
      bucket.take(1).then(() => served.push('small')),
      bucket.take(10 * KIB).then(() => served.push('medium')),
    ]
    await settle()
    assert.deepEqual(served, [])
    // Small steps, so a take that jumped the queue would be served first.
    for (let i = 0; i < 300 && served.length < 3; i++) {
      clock.advance(10)
      await settle()
    }
    await Promise.all(takes)
    assert.deepEqual(served, ['large', 'small', 'medium'])
  })

  it('an abort rejects the waiting take with the reason and leaves the queue working', TEST, async () => {
    const clock = new ManualClock()
    const bucket = new TokenBucket({ clock }, { rateBytesPerSecond: 100 * KIB, burstBytes: 100 * KIB })
    await bucket.take(100 * KIB)
    const controller = new AbortController()
    const aborted = bucket.take(50 * KIB, controller.signal)
    await settle()
    assert.equal(clock.sleeping, 1)
    const reason = new Error('reader went away')
    controller.abort(reason)
    await assert.rejects(aborted, (error: unknown) => error === reason)
    assert.equal(clock.sleeping, 0)

    // The aborted take took nothing: the next one waits for 50 KiB, half a second.
    let served = false
    const next = bucket.take(50 * KIB).then(() => { served = true })
    await settle()
    clock.advance(499)
    await settle()
    assert.equal(served, false)
    clock.advance(1)
    await next
    assert.equal(served, true)
  })

  it('an abort before the take rejects it when it has to wait', TEST, async () => {
    const clock = new InstantClock()
    const bucket = new TokenBucket({ clock }, { rateBytesPerSecond: 100 * KIB, burstBytes: 100 * KIB })
    await bucket.take(100 * KIB)
    const controller = new AbortController()
    controller.abort(new Error('cancelled early'))
    await assert.rejects(bucket.take(1, controller.signal), /cancelled early/)
    assert.deepEqual(clock.sleeps, [])
  })

  it('tryTake takes at once while the bucket has the tokens, and takes nothing when it has not', TEST, async () => {
    const clock = new InstantClock()
    const bucket = new TokenBucket({ clock }, { rateBytesPerSecond: 100 * KIB, burstBytes: 100 * KIB })
    assert.equal(bucket.tryTake(60 * KIB), true)
    assert.equal(bucket.tryTake(40 * KIB), true)
    assert.equal(bucket.tryTake(1), false)
    // The refused try took nothing: 50 KiB at 100 KiB/s is half a second.
    await bucket.take(50 * KIB)
    assert.deepEqual(clock.sleeps, [500])
  })

  it('tryTake never passes a take that is waiting', TEST, async () => {
    const clock = new ManualClock()
    const bucket = new TokenBucket({ clock }, { rateBytesPerSecond: 100 * KIB, burstBytes: 100 * KIB })
    await bucket.take(100 * KIB)
    let served = false
    const waiting = bucket.take(50 * KIB).then(() => { served = true })
    await settle()
    clock.advance(400)
    // 40 KiB are back, enough for a small try, but the waiting take comes first.
    assert.equal(bucket.tryTake(1), false)
    clock.advance(100)
    await waiting
    assert.equal(served, true)
    clock.advance(100)
    assert.equal(bucket.tryTake(10 * KIB), true)
  })

  for (const rateBytesPerSecond of [0, Number.POSITIVE_INFINITY]) {
    it(`tryTake always succeeds at a rate of ${rateBytesPerSecond}`, TEST, () => {
      const bucket = new TokenBucket({ clock: new InstantClock() }, { rateBytesPerSecond })
      for (let i = 0; i < 10; i++) assert.equal(bucket.tryTake(64 * MIB), true)
    })
  }
})
