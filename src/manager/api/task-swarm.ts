import type { FoundSwarm, LiveData } from '../live/live-data.js'
import { toRfc3339 } from './input-schemas.js'
import { taskSwarmParams, taskSwarmQuery } from './live-inputs.js'
import { defineRoute, permission, type Route } from './route.js'

/** However many schedulers answer late, the request ends by then: each call has its own deadline of a few seconds. */
const LIVE_REQUEST_TIMEOUT_MS = 10_000

/** A swarm in the API's JSON (docs/manager-api.md, "Console data"). */
export function taskSwarmJson({ scheduler, swarm }: FoundSwarm): Record<string, unknown> {
  return {
    task_id: swarm.taskId,
    cluster_id: scheduler.clusterId,
    scheduler: { id: scheduler.id, host_name: scheduler.hostname, ip: scheduler.ip },
    url: swarm.url,
    content_length: swarm.contentLength,
    piece_length: swarm.pieceLength,
    total_pieces: swarm.totalPieces,
    updated_at: toRfc3339(swarm.updatedAtMs),
    peers: swarm.peers.map((peer) => ({
      id: peer.id,
      host_id: peer.hostId,
      hostname: peer.hostname,
      ip: peer.ip,
      type: peer.seed ? 'seed' : 'normal',
      state: peer.state,
      finished_pieces: peer.finishedPieces,
      bytes_from_peers: peer.bytesFromPeers,
      bytes_from_origin: peer.bytesFromOrigin,
      uploaded_bytes: peer.uploadedBytes,
      rate_bytes_per_second: peer.rateBytesPerSecond,
      back_to_source_reason: peer.backToSourceReason === '' ? null : peer.backToSourceReason,
      created_at: toRfc3339(peer.createdAtMs),
      updated_at: toRfc3339(peer.updatedAtMs),
    })),
    edges: swarm.edges.map((edge) => ({ parent: edge.parent, child: edge.child, bytes: edge.bytes, pieces: edge.pieces, active: edge.active })),
    totals: { bytes_from_peers: swarm.bytesFromPeers, bytes_from_origin: swarm.bytesFromOrigin, bytes_from_seed_peers: swarm.bytesFromSeedPeers },
    truncated: swarm.truncated,
  }
}

/** The swarm of a task, from the scheduler that holds it. */
export function taskSwarmRoutes(components: { live: LiveData }): Route[] {
  const { live } = components
  return [
    defineRoute({
      method: 'GET',
      url: '/api/v1/tasks/:task_id/swarm',
      summary: 'The swarm of a task: its peers, who feeds whom and how many bytes came from peers and from the origin',
      access: permission('job', 'read'),
      params: taskSwarmParams,
      query: taskSwarmQuery,
      handler: async ({ params, query }) => taskSwarmJson(await live.swarm(params.task_id, query.cluster_id, AbortSignal.timeout(LIVE_REQUEST_TIMEOUT_MS))),
    }),
  ]
}
