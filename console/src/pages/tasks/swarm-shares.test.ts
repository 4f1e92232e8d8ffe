import { describe, expect, it } from 'vitest'
import { heaviest } from './heaviest'
import { formatShare, swarmShares } from './swarm-shares'

describe('swarmShares', () => {
  it('counts the seed share and the P2P share against every byte delivered to peers', () => {
    const shares = swarmShares({ bytes_from_peers: 600, bytes_from_origin: 200, bytes_from_seed_peers: 150 })
    expect(shares.deliveredBytes).toBe(800)
    expect(shares.p2pShare).toBe(0.75)
    expect(shares.seedShare).toBe(0.1875)
    expect([formatShare(shares.p2pShare), formatShare(shares.seedShare)]).toEqual(['75.0%', '18.8%'])
  })

  it('reads nothing delivered as 0%, not NaN', () => {
    const shares = swarmShares({ bytes_from_peers: 0, bytes_from_origin: 0, bytes_from_seed_peers: 0 })
    expect([shares.p2pShare, shares.seedShare]).toEqual([0, 0])
  })

  it('reads a swarm fed only by the origin as 0% P2P', () => {
    expect(swarmShares({ bytes_from_peers: 0, bytes_from_origin: 5, bytes_from_seed_peers: 0 }).p2pShare).toBe(0)
  })
})

describe('heaviest', () => {
  const weightOf = (value: number): number => value

  it('keeps the heaviest, in their given order', () => {
    expect(heaviest([5, 1, 9, 3, 7], weightOf, 3)).toEqual([5, 9, 7])
  })

  it('keeps ties up to the limit and everything when under it', () => {
    expect(heaviest([2, 2, 2, 1], weightOf, 2)).toEqual([2, 2])
    expect(heaviest([1, 2], weightOf, 5)).toEqual([1, 2])
    expect(heaviest([1, 2], weightOf, 0)).toEqual([])
  })

  it('agrees with a full sort on sorted, reversed and scrambled input', () => {
    const scrambled = Array.from({ length: 10_000 }, (_unused, index) => (index * 7919) % 10_007)
    for (const input of [scrambled, [...scrambled].sort((a, b) => a - b), [...scrambled].sort((a, b) => b - a)]) {
      const expected = [...input].sort((a, b) => b - a).slice(0, 600).sort((a, b) => a - b)
      expect(heaviest(input, weightOf, 600).sort((a, b) => a - b)).toEqual(expected)
    }
  })
})
