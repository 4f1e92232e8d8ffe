import { z } from 'zod'
import { DamselflyError } from '../../protocol/damselfly-error.js'
import type { ClusterStats, TaskSwarm } from '../../protocol/generated/damselfly/scheduler/v1/scheduler.js'

// A scheduler's answers to the console's questions, decoded by protobuf but not trusted: checked
// here, once, at the manager's client boundary, then used as they are.

/** The bucket a scheduler counts in, and the number of them it sends. */
export const BUCKET_SECONDS = 60
export const BUCKET_COUNT = 60
/** The most peers and edges a swarm answer may carry (the scheduler sends the heaviest). */
export const MAX_SWARM_PEERS = 1_000
export const MAX_SWARM_EDGES = 10_000

const count = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER)
const id = z.string().min(1).max(512)
/** A back-to-source reason: a short snake_case word; one this manager does not know yet is passed on as it is. */
const reason = z.string().regex(/^[a-z][a-z0-9_]{0,63}$/)

export const PEER_STATES = ['pending', 'running', 'back-to-source', 'succeeded', 'failed', 'left'] as const

const bucketSchema = z.object({
  startMs: count.refine((ms) => ms % (BUCKET_SECONDS * 1000) === 0, 'must start a minute'),
  bytesFromPeers: count,
  bytesFromSeedPeers: count,
  bytesFromOrigin: count,
  tasksStarted: count,
  tasksFinished: count,
  peersStarted: count,
  peersFinished: count,
  peersFailed: count,
  backToSource: z.array(z.object({ reason, count })).max(64),
})

const clusterStatsSchema = z.object({
  bucketSeconds: z.literal(BUCKET_SECONDS),
  buckets: z.array(bucketSchema).max(BUCKET_COUNT),
})

const peerSchema = z.object({
  id,
  hostId: id,
  hostname: z.string().max(255),
  ip: z.string().max(64),
  seed: z.boolean(),
  state: z.enum(PEER_STATES),
  finishedPieces: count,
  bytesFromPeers: count,
  bytesFromOrigin: count,
  uploadedBytes: count,
  rateBytesPerSecond: count,
  backToSourceReason: z.union([z.literal(''), reason]),
  createdAtMs: count,
  updatedAtMs: count,
})

const edgeSchema = z.object({ parent: id, child: id, bytes: count, pieces: count, active: z.boolean() })

const taskSwarmSchema = z.object({
  taskId: z.string().regex(/^[0-9a-f]{64}$/),
  url: z.string().max(8192),
  contentLength: count,
  pieceLength: count,
  totalPieces: count,
  updatedAtMs: count,
  peers: z.array(peerSchema).max(MAX_SWARM_PEERS),
  edges: z.array(edgeSchema).max(MAX_SWARM_EDGES),
  truncated: z.boolean(),
  bytesFromPeers: count,
  bytesFromOrigin: count,
  bytesFromSeedPeers: count,
})

export type SchedulerBucket = z.output<typeof bucketSchema>
export type SchedulerSwarm = z.output<typeof taskSwarmSchema>
export type SchedulerSwarmPeer = z.output<typeof peerSchema>
export type SchedulerSwarmEdge = z.output<typeof edgeSchema>

function refuse(address: string, what: string, error: z.ZodError): DamselflyError {
  const issue = error.issues[0]
  const path = issue === undefined ? '' : issue.path.join('.')
  return new DamselflyError('INTERNAL', `scheduler ${address} answered ${what} the manager cannot read: ${path} ${issue?.message ?? ''}`.trim())
}

/** A scheduler's per-minute counters; throws INTERNAL, naming the scheduler and the field, when they make no sense. */
export function parseClusterStats(answer: ClusterStats, address: string): SchedulerBucket[] {
  const parsed = clusterStatsSchema.safeParse(answer)
  if (!parsed.success) throw refuse(address, 'cluster stats', parsed.error)
  return parsed.data.buckets
}

/**
 * A scheduler's snapshot of a task's swarm; throws INTERNAL when it makes no sense: another task
 * than asked, too many peers or edges, an edge between peers the answer does not list.
 */
export function parseTaskSwarm(answer: TaskSwarm, taskId: string, address: string): SchedulerSwarm {
  const parsed = taskSwarmSchema.safeParse(answer)
  if (!parsed.success) throw refuse(address, 'a task swarm', parsed.error)
  const swarm = parsed.data
  if (swarm.taskId !== taskId) throw new DamselflyError('INTERNAL', `scheduler ${address} answered the swarm of task ${swarm.taskId}, not ${taskId}`)
  const peers = new Set(swarm.peers.map((peer) => peer.id))
  const stray = swarm.edges.find((edge) => !peers.has(edge.parent) || !peers.has(edge.child))
  if (stray !== undefined) throw new DamselflyError('INTERNAL', `scheduler ${address} answered an edge ${stray.parent} -> ${stray.child} between peers it does not list`)
  return swarm
}
