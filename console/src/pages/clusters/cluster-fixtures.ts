import type { Cluster, ClusterOverview, ClusterOverviewBucket } from '../../api/types'

/** A cluster as the API answers it, for the pages' tests. */
export function someCluster(fields: Partial<Cluster> = {}): Cluster {
  return {
    id: 2, name: 'east', bio: 'east coast',
    scopes: { idc: 'e1', location: 'us|east', cidrs: ['10.1.0.0/16', '10.2.0.0/16'], hostnames: ['^east-'] },
    scheduler_cluster_id: 2, seed_peer_cluster_id: 2,
    scheduler_cluster_config: { candidate_parent_limit: 4, filter_parent_limit: 15, job_rate_limit: 10 },
    seed_peer_cluster_config: { load_limit: 2000 }, peer_cluster_config: { load_limit: 200 },
    blocklist: { applications: [], urls: [], tags: ['nightly'] },
    is_default: false, created_at: '2026-12-01T07:00:00.000Z', updated_at: '2026-12-01T07:00:00.000Z',
    members: { active_schedulers: 1, active_seed_peers: 1, hosts: 3 },
    ...fields,
  }
}

/** An hour of a cluster's traffic: `bytes` per minute from peers and from the origin, oldest first. */
export function someOverview(minutes: readonly (readonly [fromPeers: number, fromOrigin: number])[], fields: Partial<ClusterOverview> = {}): ClusterOverview {
  const start = Date.UTC(2026, 11, 1, 7, 0)
  const buckets: ClusterOverviewBucket[] = minutes.map(([fromPeers, fromOrigin], index) => ({
    at: new Date(start + index * 60_000).toISOString(), bytes_from_peers: fromPeers, bytes_from_origin: fromOrigin, tasks_started: 1, tasks_finished: 1, back_to_source: 0, bytes_from_seed_peers: 0, peers_started: 1, peers_finished: 1, peers_failed: 0,
  }))
  const sum = (pick: (bucket: ClusterOverviewBucket) => number): number => buckets.reduce((total, bucket) => total + pick(bucket), 0)
  return {
    cluster_id: 2,
    window: { from: new Date(start).toISOString(), to: new Date(start + 3_600_000).toISOString(), bucket_seconds: 60 },
    schedulers: { asked: 2, answered: 2 },
    totals: {
      bytes_from_peers: sum((bucket) => bucket.bytes_from_peers), bytes_from_origin: sum((bucket) => bucket.bytes_from_origin), bytes_from_seed_peers: 0,
      tasks_started: sum((bucket) => bucket.tasks_started), tasks_finished: sum((bucket) => bucket.tasks_finished),
      peers_started: 0, peers_finished: 0, peers_failed: 0, back_to_source: 3,
      back_to_source_reasons: [{ reason: 'seed_peer', count: 2 }, { reason: 'no_parent', count: 1 }],
    },
    buckets,
    ...fields,
  }
}
