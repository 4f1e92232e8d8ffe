import type { PeerId } from '../protocol/ids.js'
import type { SwarmEdge, SwarmPeer, TaskSwarm } from '../protocol/generated/damselfly/scheduler/v1/scheduler.js'
import type { DepartedPeer, Task } from './task.js'

/** Peers and edges one snapshot carries at most: the heaviest, so a page can draw them. */
export const SWARM_LIMITS = { peers: 1_000, edges: 10_000 } as const

/** A peer of the snapshot, present or gone: the fields both kinds share. */
type PeerView = DepartedPeer

function weight(view: PeerView): number {
  const { traffic } = view
  return traffic.bytesFromPeers + traffic.bytesFromOrigin + traffic.uploadedBytes
}

/**
 * The console's snapshot of a task's swarm: its peers (those that left too, as the task remembers
 * them), and per parent and child the bytes and pieces delivered, with whether the DAG edge still
 * exists. An edge of the DAG that delivered nothing yet is included; an edge is sent only when
 * both its ends are. When there are more than `limits` allow, the heaviest peers (bytes received
 * and sent) and the heaviest edges are kept, and `truncated` says so.
 */
export function taskSwarm(task: Task, nowMs: number, limits: { peers: number; edges: number } = SWARM_LIMITS): TaskSwarm {
  const views: PeerView[] = []
  const seen = new Set<PeerId>()
  for (const peer of task.peers.values()) {
    seen.add(peer.id)
    const { info } = peer.host
    views.push({ id: peer.id, hostId: peer.hostId, hostname: info.hostname, ip: info.ip, seed: peer.host.seed, state: peer.state, finishedPieces: peer.finishedPieces.size, traffic: peer.traffic })
  }
  // Newest first: a peer id that left twice is shown as it last was.
  for (let i = task.departed.length - 1; i >= 0; i--) {
    const departed = task.departed[i] as DepartedPeer
    if (seen.has(departed.id)) continue
    seen.add(departed.id)
    views.push(departed)
  }
  views.sort((a, b) => weight(b) - weight(a) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
  const kept = views.slice(0, limits.peers)
  const keptIds = new Set(kept.map((view) => view.id))

  const edges: SwarmEdge[] = []
  for (const child of kept) {
    for (const [parent, delivered] of child.traffic.fromParents()) {
      if (keptIds.has(parent)) edges.push({ parent, child: child.id, bytes: delivered.bytes, pieces: delivered.pieces, active: task.graph.hasEdge(parent, child.id) })
    }
    if (!task.peers.has(child.id)) continue
    for (const parent of task.graph.parentsOf(child.id)) {
      if (keptIds.has(parent) && child.traffic.fromParent(parent) === undefined) edges.push({ parent, child: child.id, bytes: 0, pieces: 0, active: true })
    }
  }
  edges.sort((a, b) => b.bytes - a.bytes)

  return {
    taskId: task.id,
    url: task.url,
    contentLength: task.contentLengthBytes ?? 0,
    pieceLength: task.pieceLengthBytes ?? 0,
    totalPieces: task.pieceCount ?? 0,
    updatedAtMs: nowMs,
    peers: kept.map((view) => swarmPeer(view, nowMs)),
    edges: edges.slice(0, limits.edges),
    truncated: views.length > kept.length || edges.length > limits.edges,
    bytesFromPeers: task.traffic.bytesFromPeers,
    bytesFromOrigin: task.traffic.bytesFromOrigin,
    bytesFromSeedPeers: task.traffic.bytesFromSeedPeers,
  }
}

function swarmPeer(view: PeerView, nowMs: number): SwarmPeer {
  const { traffic } = view
  return {
    id: view.id,
    hostId: view.hostId,
    hostname: view.hostname,
    ip: view.ip,
    seed: view.seed,
    state: view.state,
    finishedPieces: view.finishedPieces,
    bytesFromPeers: traffic.bytesFromPeers,
    bytesFromOrigin: traffic.bytesFromOrigin,
    uploadedBytes: traffic.uploadedBytes,
    rateBytesPerSecond: traffic.rate.bytesPerSecond(nowMs),
    backToSourceReason: traffic.backToSourceReason ?? '',
    createdAtMs: traffic.createdAtMs,
    updatedAtMs: traffic.updatedAtMs,
  }
}
