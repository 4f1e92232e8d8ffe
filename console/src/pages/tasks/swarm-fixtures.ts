import type { SwarmEdge, SwarmPeer, TaskSwarm } from '../../api/types'

/** A peer of a test snapshot; `seed` makes it a seed peer. */
export function peerOf(id: string, changes: Partial<SwarmPeer> = {}): SwarmPeer {
  return {
    id, host_id: `host-${id}`, hostname: `${id}.test`, ip: '10.0.0.1', type: 'normal', state: 'running',
    finished_pieces: 0, bytes_from_peers: 0, bytes_from_origin: 0, uploaded_bytes: 0, rate_bytes_per_second: 0,
    back_to_source_reason: null, created_at: '2026-12-01T07:00:00.000Z', updated_at: '2026-12-01T07:00:01.000Z',
    ...changes,
  }
}

/**
 * A swarm of `peerCount` peers (the first `seedCount` seeds, which fetched from the origin) and
 * `edgeCount` edges, each child fed by earlier peers; deterministic, for layout and rendering tests.
 */
export function swarmOf(peerCount: number, edgeCount: number, seedCount = 2, totalPieces = 1000): TaskSwarm {
  const idOf = (index: number): string => `p${String(index).padStart(4, '0')}`
  const peers = Array.from({ length: peerCount }, (_unused, index) => peerOf(idOf(index), index < seedCount
    ? { type: 'seed', bytes_from_origin: 4_000_000_000, finished_pieces: totalPieces, state: 'succeeded', back_to_source_reason: 'seed_peer' }
    : { finished_pieces: (index * 37) % (totalPieces + 1), bytes_from_peers: index * 1_000_000 }))
  const edges: SwarmEdge[] = []
  const seen = new Set<string>()
  // Every pair (parent before child) in a fixed order, until there are enough.
  for (let child = 1; child < peerCount && edges.length < edgeCount; child++) {
    for (let parent = 0; parent < child && edges.length < edgeCount; parent++) {
      const key = `${parent}-${child}`
      if (seen.has(key)) continue
      seen.add(key)
      edges.push({ parent: idOf(parent), child: idOf(child), bytes: ((parent * 7919 + child * 104729) % 100_000) * 1000, pieces: 1 + ((parent + child) % 50), active: (parent + child) % 3 === 0 })
    }
  }
  return {
    task_id: 'a'.repeat(64), cluster_id: 1, scheduler: { id: 1, host_name: 's1', ip: '127.0.0.1' },
    url: 'https://files.test/big.bin', content_length: totalPieces * 4_194_304, piece_length: 4_194_304, total_pieces: totalPieces,
    updated_at: '2026-12-01T07:00:01.000Z', peers, edges,
    totals: { bytes_from_peers: 3_000_000_000, bytes_from_origin: 1_000_000_000, bytes_from_seed_peers: 1_500_000_000 },
  }
}
