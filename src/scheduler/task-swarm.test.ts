import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { PeerId } from '../protocol/ids.js'
import { Resources } from './resource-fixtures.js'
import { taskSwarm } from './task-swarm.js'

const TEST = { timeout: 5_000 }

describe('taskSwarm: the console\'s snapshot of a task', TEST, () => {
  it('lists peers with their traffic, edges that delivered and DAG edges that did not yet, and totals', TEST, () => {
    const r = new Resources()
    const seed = r.peer('seed', r.host('h-seed', { seed: true, hostname: 'seed-1', ip: '10.0.0.9' }), { state: 'back-to-source' })
    const child = r.peer('child', r.host('h-child'), { state: 'running' })
    const waiting = r.peer('waiting', r.host('h-waiting'), { state: 'running' })
    const task = seed.task
    task.contentLengthBytes = 3_000
    task.pieceLengthBytes = 1_000
    task.url = 'http://origin.test/file'
    const nowMs = r.clock.nowMs()
    r.recorder.delivered(seed, undefined, undefined, 3_000, nowMs)
    r.recorder.delivered(child, seed.id, seed, 2_000, nowMs)
    task.graph.addEdge(seed.id, child.id)
    task.graph.addEdge(child.id, waiting.id)

    const swarm = taskSwarm(task, nowMs)
    assert.equal(swarm.totalPieces, 3)
    assert.equal(swarm.url, 'http://origin.test/file')
    assert.equal(swarm.truncated, false)
    assert.deepEqual(swarm.peers.map((peer) => [peer.id, peer.hostname, peer.seed, peer.state, peer.bytesFromOrigin, peer.bytesFromPeers, peer.uploadedBytes]), [
      ['seed', 'seed-1', true, 'back-to-source', 3_000, 0, 2_000],
      ['child', 'h-child', false, 'running', 0, 2_000, 0],
      ['waiting', 'h-waiting', false, 'running', 0, 0, 0],
    ])
    assert.deepEqual(swarm.edges, [
      { parent: 'seed', child: 'child', bytes: 2_000, pieces: 1, active: true },
      { parent: 'child', child: 'waiting', bytes: 0, pieces: 0, active: true },
    ])
    assert.deepEqual([swarm.bytesFromPeers, swarm.bytesFromSeedPeers, swarm.bytesFromOrigin], [2_000, 2_000, 3_000])
  })

  it('keeps a peer that left, with its edges, marked inactive once the DAG edge is gone', TEST, () => {
    const r = new Resources()
    const seed = r.peer('seed', r.host('h-seed', { seed: true }), { state: 'succeeded' })
    const child = r.peer('child', r.host('h-child'), { state: 'running' })
    r.recorder.delivered(child, seed.id, seed, 500, r.clock.nowMs())
    r.store.removePeer(child.id)
    const swarm = taskSwarm(seed.task, r.clock.nowMs())
    assert.deepEqual(swarm.peers.map((peer) => [peer.id, peer.state]).sort(), [['child', 'left'], ['seed', 'succeeded']])
    assert.deepEqual(swarm.edges, [{ parent: 'seed', child: 'child', bytes: 500, pieces: 1, active: false }])
  })

  it('sends only the heaviest peers and edges between them, and says it truncated', TEST, () => {
    const r = new Resources()
    const seed = r.peer('seed', r.host('h-seed', { seed: true }), { state: 'back-to-source' })
    const nowMs = r.clock.nowMs()
    r.recorder.delivered(seed, undefined, undefined, 1_000_000, nowMs)
    for (let i = 1; i <= 5; i++) {
      const peer = r.peer(`p${i}`, r.host(`h-${i}`), { state: 'running' })
      r.recorder.delivered(peer, seed.id, seed, i * 100, nowMs)
      if (i > 1) r.recorder.delivered(peer, `p${i - 1}` as PeerId, seed.task.peers.get(`p${i - 1}` as PeerId), 1, nowMs)
    }
    const whole = taskSwarm(seed.task, nowMs)
    assert.equal(whole.peers.length, 6)
    assert.equal(whole.edges.length, 9)
    assert.equal(whole.truncated, false)

    const cut = taskSwarm(seed.task, nowMs, { peers: 3, edges: 2 })
    assert.equal(cut.truncated, true)
    assert.deepEqual(cut.peers.map((peer) => peer.id), ['seed', 'p5', 'p4'], 'by bytes received and sent')
    assert.deepEqual(cut.edges.map((edge) => [edge.parent, edge.child, edge.bytes]), [['seed', 'p5', 500], ['seed', 'p4', 400]], 'the heaviest edges between peers sent')
    assert.ok(cut.edges.every((edge) => cut.peers.some((peer) => peer.id === edge.parent) && cut.peers.some((peer) => peer.id === edge.child)))
    assert.equal(taskSwarm(seed.task, nowMs, { peers: 6, edges: 8 }).truncated, true, 'edges alone past their limit')
  })
})
