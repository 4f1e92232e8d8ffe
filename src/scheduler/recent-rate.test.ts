import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { RATE_WINDOW_SECONDS, RecentRate } from './recent-rate.js'

const TEST = { timeout: 5_000 }
const T0 = 1_700_000_000_000

describe('RecentRate', TEST, () => {
  const cases: Array<{ name: string; adds: Array<[number, number]>; atMs: number; expected: number }> = [
    { name: 'nothing received', adds: [], atMs: T0, expected: 0 },
    { name: 'one second of 5,000 bytes, averaged over the window', adds: [[T0, 5_000]], atMs: T0 + 500, expected: 5_000 / RATE_WINDOW_SECONDS },
    { name: 'steady 1,000 bytes a second for 10 s', adds: Array.from({ length: 10 }, (_, i): [number, number] => [T0 + i * 1_000, 1_000]), atMs: T0 + 9_000, expected: 1_000 },
    { name: 'bytes older than the window are gone', adds: [[T0, 5_000]], atMs: T0 + RATE_WINDOW_SECONDS * 1_000, expected: 0 },
    { name: 'a long gap clears every slot', adds: [[T0, 5_000], [T0 + 60_000, 500]], atMs: T0 + 60_000, expected: 100 },
  ]
  for (const { name, adds, atMs, expected } of cases) {
    it(name, TEST, () => {
      const rate = new RecentRate()
      for (const [nowMs, bytes] of adds) rate.add(nowMs, bytes)
      assert.equal(rate.bytesPerSecond(atMs), expected)
    })
  }
})
