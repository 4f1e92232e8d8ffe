import type { ClustersRepository } from '../db/clusters-repository.js'
import type { ClusterOverview, LiveData, OverviewCounts } from '../live/live-data.js'
import { BUCKET_SECONDS } from '../live/scheduler-answers.js'
import { idParams, toRfc3339 } from './input-schemas.js'
import { defineRoute, permission, type Route } from './route.js'

/** However many schedulers answer late, the request ends by then: each call has its own deadline of a few seconds. */
const LIVE_REQUEST_TIMEOUT_MS = 10_000

function countsJson(counts: OverviewCounts): Record<string, number> {
  return {
    bytes_from_peers: counts.bytesFromPeers,
    bytes_from_origin: counts.bytesFromOrigin,
    bytes_from_seed_peers: counts.bytesFromSeedPeers,
    tasks_started: counts.tasksStarted,
    tasks_finished: counts.tasksFinished,
    peers_started: counts.peersStarted,
    peers_finished: counts.peersFinished,
    peers_failed: counts.peersFailed,
    back_to_source: counts.backToSource,
  }
}

/** The overview in the API's JSON (docs/manager-api.md, "Console data"). */
export function clusterOverviewJson(overview: ClusterOverview): Record<string, unknown> {
  return {
    cluster_id: overview.clusterId,
    window: { from: toRfc3339(overview.fromMs), to: toRfc3339(overview.toMs), bucket_seconds: BUCKET_SECONDS },
    schedulers: { asked: overview.asked, answered: overview.answered },
    totals: { ...countsJson(overview.totals), back_to_source_reasons: overview.reasons.map(({ reason, count }) => ({ reason, count })) },
    buckets: overview.buckets.map((bucket) => ({ at: toRfc3339(bucket.startMs), ...countsJson(bucket) })),
  }
}

/** A cluster's last hour, summed over its live schedulers' counters. */
export function clusterOverviewRoutes(components: { clusters: ClustersRepository; live: LiveData }): Route[] {
  const { clusters, live } = components
  return [
    defineRoute({
      method: 'GET',
      url: '/api/v1/clusters/:id/overview',
      summary: 'The last hour of a cluster by minute: bytes from peers and from origins, tasks, peers, back-to-source by reason',
      access: permission('cluster', 'read'),
      params: idParams,
      handler: async ({ params }) => {
        await clusters.getOrThrow(params.id)
        return clusterOverviewJson(await live.overview(params.id, AbortSignal.timeout(LIVE_REQUEST_TIMEOUT_MS)))
      },
    }),
  ]
}
