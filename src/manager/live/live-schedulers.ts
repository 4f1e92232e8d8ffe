import type { ClusterStats, TaskSwarm } from '../../protocol/generated/damselfly/scheduler/v1/scheduler.js'

/**
 * A live scheduler of a cluster, as the console's questions reach it: each call carries the
 * manager's certificate and a deadline of a few seconds, and rejects with the gRPC error. The
 * answers are the scheduler's own: parse them (scheduler-answers.ts) before use.
 */
export interface LiveScheduler {
  readonly id: number
  readonly clusterId: number
  readonly hostname: string
  readonly ip: string
  /** `host:port`, for logs. */
  readonly address: string
  clusterStats(signal: AbortSignal): Promise<ClusterStats>
  /** Rejects with gRPC status NOT_FOUND when the scheduler does not know the task. */
  taskSwarm(taskId: string, signal: AbortSignal): Promise<TaskSwarm>
}

/** Where the live schedulers come from (jobs/cluster-schedulers.ts in the manager). */
export interface LiveSchedulers {
  /** The schedulers of `clusterId`, or of every cluster when undefined, that kept alive lately. */
  alive(clusterId: number | undefined): Promise<LiveScheduler[]>
}

/** No scheduler at all: for a manager's API built without the gRPC side (tests, the OpenAPI script). */
export const NO_LIVE_SCHEDULERS: LiveSchedulers = { alive: () => Promise.resolve([]) }
