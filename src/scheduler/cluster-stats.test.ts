import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { ManualClock } from '../common/manual-clock.js'
import { BUCKET_COUNT, BUCKET_MS, ClusterStats } from './cluster-stats.js'

const TEST = { timeout: 5_000 }
const START = Date.parse('2026-12-01T07:00:00Z')

describe('ClusterStats: the last hour by minute', TEST, () => {
  it('answers 60 minutes oldest first, the current one last, empty minutes as zeros', TEST, () => {
    const clock = new ManualClock(START + 30_000)
    const stats = new ClusterStats({ clock })
    stats.add('bytesFromPeers', 100)
    stats.add('tasksStarted')
    const buckets = stats.buckets()
    assert.equal(buckets.length, BUCKET_COUNT)
    assert.equal(buckets.at(-1)?.startMs, START)
    assert.equal(buckets[0]?.startMs, START - (BUCKET_COUNT - 1) * BUCKET_MS)
    assert.deepEqual(buckets.map((bucket) => bucket.startMs), [...buckets.map((bucket) => bucket.startMs)].sort((a, b) => a - b))
    assert.equal(buckets.at(-1)?.bytesFromPeers, 100)
    assert.equal(buckets.at(-1)?.tasksStarted, 1)
    assert.equal(buckets.slice(0, -1).reduce((sum, bucket) => sum + bucket.bytesFromPeers + bucket.tasksStarted, 0), 0)
  })

  it('puts each count in its minute, and forgets a minute once an hour has passed', TEST, () => {
    const clock = new ManualClock(START)
    const stats = new ClusterStats({ clock })
    stats.add('bytesFromOrigin', 7)
    clock.advance(BUCKET_MS)
    stats.add('bytesFromOrigin', 5)
    stats.add('peersFailed')
    let buckets = stats.buckets()
    assert.deepEqual(buckets.slice(-2).map((bucket) => [bucket.bytesFromOrigin, bucket.peersFailed]), [[7, 0], [5, 1]])
    // 59 minutes later the first minute is the oldest shown; one more and it is gone.
    clock.advance((BUCKET_COUNT - 2) * BUCKET_MS)
    buckets = stats.buckets()
    assert.equal(buckets[0]?.startMs, START)
    assert.equal(buckets[0]?.bytesFromOrigin, 7)
    clock.advance(BUCKET_MS)
    buckets = stats.buckets()
    assert.equal(buckets[0]?.startMs, START + BUCKET_MS)
    assert.equal(buckets.reduce((sum, bucket) => sum + bucket.bytesFromOrigin, 0), 5)
    // The slot the first minute used is reused, cleared, for the current one.
    stats.add('bytesFromOrigin', 1)
    assert.equal(stats.buckets().at(-1)?.bytesFromOrigin, 1)
  })

  it('after a silence longer than the hour, shows nothing of before', TEST, () => {
    const clock = new ManualClock(START)
    const stats = new ClusterStats({ clock })
    stats.add('peersStarted', 3)
    stats.backToSource('no_parent')
    clock.advance(3 * BUCKET_COUNT * BUCKET_MS + 1_000)
    assert.ok(stats.buckets().every((bucket) => bucket.peersStarted === 0 && bucket.backToSource.length === 0))
  })

  it('counts back-to-source by reason, listing only reasons that occurred', TEST, () => {
    const clock = new ManualClock(START)
    const stats = new ClusterStats({ clock })
    stats.backToSource('seed_peer')
    stats.backToSource('no_parent')
    stats.backToSource('seed_peer')
    assert.deepEqual(stats.buckets().at(-1)?.backToSource, [{ reason: 'seed_peer', count: 2 }, { reason: 'no_parent', count: 1 }])
  })
})
