import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { HostId } from '../protocol/ids.js'
import { Resources } from './resource-fixtures.js'

const TEST = { timeout: 5_000 }
const TTL_MS = 60_000

describe('ResourceStore', TEST, () => {
  it('forgets a peer silent beyond peerTTL, then its peerless task beyond taskTTL', TEST, () => {
    const r = new Resources()
    const host = r.host('h')
    const quiet = r.peer('quiet', host)
    r.clock.advance(TTL_MS / 2)
    const busy = r.peer('busy', host, { task: r.task('c'.repeat(64) as never) })
    r.clock.advance(TTL_MS / 2 + 1)
    assert.deepEqual(r.store.gc(), { peers: 1, tasks: 0, hosts: 0 })
    assert.equal(r.store.peers.has(quiet.id), false)
    assert.equal(quiet.task.graph.has(quiet.id), false)
    assert.equal(r.store.peers.has(busy.id), true)
    r.clock.advance(TTL_MS + 1)
    busy.touch(r.clock.nowMs())
    assert.deepEqual(r.store.gc(), { peers: 0, tasks: 1, hosts: 0 })
    assert.equal(r.store.tasks.has(quiet.task.id), false)
    assert.equal(r.store.tasks.has(busy.task.id), true)
  })

  it('keeps a connected host however quiet; forgets a disconnected one beyond hostTTL with its peers', TEST, () => {
    const r = new Resources()
    const connected = r.host('connected')
    const gone = r.host('gone')
    const peer = r.peer('p', gone, { pieces: [0] })
    const child = r.peer('child', connected)
    assert.equal(r.task().graph.addEdge(peer.id, child.id), true)
    r.store.disconnectHost(gone)
    assert.deepEqual(r.task().graph.parentsOf(child.id), [], 'a disconnected host stops being a parent at once')
    r.clock.advance(TTL_MS + 1)
    child.touch(r.clock.nowMs())
    assert.deepEqual(r.store.gc(), { peers: 1, tasks: 0, hosts: 1 })
    assert.equal(r.store.hosts.has(connected.id), true)
    assert.equal(r.store.hosts.has(gone.id), false)
    assert.equal(r.store.peers.has(peer.id), false)
  })

  it('waitForHost resolves when the host announces, or undefined after the timeout', TEST, async () => {
    const r = new Resources()
    const waiting = r.store.waitForHost('late' as HostId, 10_000)
    const host = r.host('late')
    assert.equal(await waiting, host)
    assert.equal(await r.store.waitForHost('never' as HostId, 100), undefined)
    assert.deepEqual(r.clock.sleeps.at(-1), 100)
  })
})
