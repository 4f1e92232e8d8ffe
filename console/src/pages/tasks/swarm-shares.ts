import type { TaskSwarm } from '../../api/types'

/** Where the bytes the swarm's peers received came from, and the shares the stat tiles show. */
export interface SwarmShares {
  readonly fromPeersBytes: number
  readonly fromOriginBytes: number
  readonly fromSeedPeersBytes: number
  /** Every byte delivered to a peer: from other peers and from the origin. */
  readonly deliveredBytes: number
  /** From peers (seed or not) out of all delivered, 0..1; 0 when nothing was delivered. */
  readonly p2pShare: number
  /** From seed peers out of all delivered, 0..1; 0 when nothing was delivered. */
  readonly seedShare: number
}

/** The shares of a snapshot, from its totals (which count every peer, also those a truncated snapshot leaves out). */
export function swarmShares(totals: TaskSwarm['totals']): SwarmShares {
  const deliveredBytes = totals.bytes_from_peers + totals.bytes_from_origin
  const share = (bytes: number): number => (deliveredBytes === 0 ? 0 : bytes / deliveredBytes)
  return {
    fromPeersBytes: totals.bytes_from_peers,
    fromOriginBytes: totals.bytes_from_origin,
    fromSeedPeersBytes: totals.bytes_from_seed_peers,
    deliveredBytes,
    p2pShare: share(totals.bytes_from_peers),
    seedShare: share(totals.bytes_from_seed_peers),
  }
}

/** A share as the tiles show it: `87.5%`. */
export function formatShare(share: number): string {
  return `${(share * 100).toFixed(1)}%`
}
