import { render } from '@testing-library/react'
import { describe, expect, it } from 'vitest'
import { MAX_DRAWN_EDGES, SwarmGraph } from './swarm-graph'
import { swarmOf } from './swarm-fixtures'
import { layoutSwarm } from './swarm-layout'

describe('SwarmGraph', () => {
  it('draws one node per peer, the heaviest edges up to the cap, and the origin\'s edges', () => {
    const swarm = swarmOf(100, 1500, 3)
    const { container, getByRole } = render(<SwarmGraph swarm={swarm} layout={layoutSwarm(swarm.peers, swarm.edges)} />)
    expect(getByRole('img', { name: 'Swarm graph' }).tagName.toLowerCase()).toBe('svg')
    expect(container.querySelectorAll('[data-peer-id]')).toHaveLength(100)
    const drawn = [...container.querySelectorAll('[data-edge]')]
    expect(drawn).toHaveLength(MAX_DRAWN_EDGES)
    expect(container.querySelectorAll('[data-origin-edge]')).toHaveLength(3)
    // The lightest drawn edge is no lighter than the heaviest left out.
    const drawnKeys = new Set(drawn.map((line) => line.getAttribute('data-edge')))
    const lightestDrawn = Math.min(...swarm.edges.filter((edge) => drawnKeys.has(`${edge.parent}->${edge.child}`)).map((edge) => edge.bytes))
    const heaviestLeft = Math.max(...swarm.edges.filter((edge) => !drawnKeys.has(`${edge.parent}->${edge.child}`)).map((edge) => edge.bytes))
    expect(lightestDrawn).toBeGreaterThanOrEqual(heaviestLeft)
    expect(container.querySelectorAll('.seed[data-peer-id]')).toHaveLength(3)
    // One element per node and per edge, none per piece: 1,000 pieces each add nothing.
    expect(container.querySelectorAll('svg *').length).toBeLessThan(100 * 6 + (MAX_DRAWN_EDGES + 3) * 2 + 20)
  })

  it('draws every edge of a small swarm, wider for more bytes, and fills each ring with its pieces', () => {
    const swarm = swarmOf(4, 3, 1, 100)
    const layout = layoutSwarm(swarm.peers, swarm.edges)
    const { container } = render(<SwarmGraph swarm={{ ...swarm, peers: swarm.peers.map((peer) => ({ ...peer, bytes_from_origin: peer.type === 'seed' ? 500 : 0 })), edges: [{ parent: 'p0000', child: 'p0001', bytes: 1000, pieces: 1, active: true }, { parent: 'p0000', child: 'p0002', bytes: 10, pieces: 1, active: false }] }} layout={layout} />)
    const width = (key: string): number => Number(container.querySelector(`[data-edge="${key}"]`)?.getAttribute('stroke-width'))
    expect(width('p0000->p0001')).toBeGreaterThan(width('p0000->p0002'))
    const done = (id: string): string | null | undefined => container.querySelector(`[data-peer-id="${id}"] .swarm-ring-done`)?.getAttribute('stroke-dasharray')
    expect(done('p0000')?.split(' ')[0]).toBe('69.1')
    expect(done('p0003')?.startsWith('0 ')).toBe(false)
    expect(container.querySelector('[data-peer-id="p0001"] .swarm-label')?.textContent).toBe('p0001.test')
  })
})
