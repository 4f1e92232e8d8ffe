import { describe, expect, it } from 'vitest'
import { swarmOf, peerOf } from './swarm-fixtures'
import { layoutSwarm, slotPosition } from './swarm-layout'

describe('layoutSwarm', () => {
  it('gives the same positions for the same snapshot, whatever the order of its peers', () => {
    const swarm = swarmOf(40, 200)
    const first = layoutSwarm(swarm.peers, swarm.edges)
    const again = layoutSwarm([...swarm.peers].reverse(), [...swarm.edges].reverse())
    expect([...again.positions].sort()).toEqual([...first.positions].sort())
  })

  it('keeps every placed peer where it was when a peer joins, and never rescales', () => {
    const swarm = swarmOf(60, 300)
    const before = layoutSwarm(swarm.peers, swarm.edges)
    const joined = [...swarm.peers.slice(0, 30), peerOf('p-new'), ...swarm.peers.slice(30)]
    const after = layoutSwarm(joined, [...swarm.edges, { parent: swarm.peers[0]!.id, child: 'p-new' }], before)
    for (const [id, point] of before.positions) expect(after.positions.get(id), id).toEqual(point)
    expect(after.positions.has('p-new')).toBe(true)
    expect(after.radius).toBeGreaterThanOrEqual(before.radius)
  })

  it('frees a departed peer\'s slot for the next newcomer and moves nobody else', () => {
    const swarm = swarmOf(20, 40)
    const before = layoutSwarm(swarm.peers, swarm.edges)
    const gone = swarm.peers[10]!.id
    const after = layoutSwarm([...swarm.peers.filter((peer) => peer.id !== gone), peerOf('p-late')], swarm.edges, before)
    expect(after.positions.has(gone)).toBe(false)
    expect(after.positions.get('p-late')).toEqual(before.positions.get(gone))
    for (const peer of swarm.peers) if (peer.id !== gone) expect(after.positions.get(peer.id)).toEqual(before.positions.get(peer.id))
  })

  it('puts seeds on the inner ring and the peers they feed directly before those further away', () => {
    const swarm = swarmOf(30, 0, 2)
    // p0029 is fed by a seed, p0003 only through p0029: p0029 gets the nearer slot.
    const edges = [{ parent: swarm.peers[0]!.id, child: 'p0029' }, { parent: 'p0029', child: 'p0003' }]
    const layout = layoutSwarm(swarm.peers, edges)
    const distance = (id: string): number => Math.hypot(layout.positions.get(id)!.x, layout.positions.get(id)!.y)
    expect(distance('p0000')).toBeLessThan(100)
    expect(distance('p0001')).toBeLessThan(100)
    expect(distance('p0002')).toBeGreaterThan(100)
    expect(layout.slots.get('p0029')).toBeLessThan(layout.slots.get('p0003')!)
    expect(layout.slots.get('p0003')).toBeLessThan(layout.slots.get('p0002')!)
  })

  it('never puts two peers on one spot, and keeps neighbours on a ring apart', () => {
    const swarm = swarmOf(1000, 0, 12)
    const layout = layoutSwarm(swarm.peers, swarm.edges)
    const spots = new Set([...layout.positions.values()].map((point) => `${point.x},${point.y}`))
    expect(spots.size).toBe(1000)
    expect(new Set(layout.slots.values()).size).toBe(1000)
    let nearest = Infinity
    const points = [...layout.positions.values()]
    for (let i = 0; i < 200; i++) for (let j = i + 1; j < 200; j++) nearest = Math.min(nearest, Math.hypot(points[i]!.x - points[j]!.x, points[i]!.y - points[j]!.y))
    expect(nearest).toBeGreaterThanOrEqual(18)
  })

  it('lays out 100 peers and 10,000 edges, and the next poll of them, within 50 ms', () => {
    const swarm = swarmOf(100, 10_000)
    expect(swarm.edges).toHaveLength(4950)
    // 100 peers have 4,950 distinct pairs: the rest of the 10,000 edges come from a second snapshot's worth.
    const edges = [...swarm.edges, ...swarm.edges.map((edge) => ({ parent: edge.child, child: edge.parent })), ...swarm.edges.slice(0, 100)]
    expect(edges).toHaveLength(10_000)
    layoutSwarm(swarm.peers, edges)
    const started = performance.now()
    const first = layoutSwarm(swarm.peers, edges)
    layoutSwarm(swarm.peers, edges, first)
    expect(performance.now() - started).toBeLessThan(50)
    expect(first.positions.size).toBe(100)
  })

  it('places slot positions on rings of growing radius', () => {
    const radii = [0, 5, 9, 10, 40, 100].map((slot) => Math.round(Math.hypot(slotPosition(slot).x, slotPosition(slot).y)))
    expect(radii).toEqual([70, 70, 70, 150, 220, 290])
  })
})
