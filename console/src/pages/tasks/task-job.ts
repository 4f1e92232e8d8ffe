/**
 * A get_task or delete_task job as `POST /api/v1/jobs` and `GET /api/v1/jobs/{id}` answer it
 * (docs/manager-api.md), in the fields this area reads.
 */
export interface TaskJob {
  readonly id: number
  readonly type: 'get_task' | 'delete_task'
  readonly state: 'PENDING' | 'SUCCESS' | 'FAILURE'
  readonly error: string
  readonly result: TaskJobResult | null
}

/** A host the scheduler asked about a task. */
export interface TaskHost {
  readonly hostname: string
  readonly ip: string
  /** Dragonfly's words: `super` for a seed peer. */
  readonly host_type: 'super' | 'normal'
}

/** A host holding a task (get_task). */
export interface TaskPeer extends TaskHost {
  readonly id: string
  readonly host_id: string
  readonly state: string
  readonly content_length: number
  readonly finished_pieces: number
  readonly total_pieces: number
  readonly created_at: string
  readonly updated_at: string
}

/** What one cluster answered for one task. */
export interface ClusterAnswer {
  readonly scheduler_cluster_id: number
  readonly peers?: readonly TaskPeer[]
  readonly unanswered_hosts?: readonly TaskHost[]
  readonly success_tasks?: readonly TaskHost[]
  readonly failure_tasks?: readonly (TaskHost & { readonly description: string })[]
}

/** One task of the job: for an image, a blob (`url`, `digest`). */
export interface TaskAnswer {
  readonly task_id: string
  readonly url?: string
  readonly digest?: string
  readonly results: readonly ClusterAnswer[]
}

export interface TaskJobResult {
  readonly tasks?: readonly TaskAnswer[]
}

/**
 * The jobs routes answer a job; this area reads it as a task job. The routes' answer types are
 * declared with the jobs pages, so this takes what the client returns, whatever it is typed as.
 */
export function asTaskJob(answer: unknown): TaskJob {
  return answer as TaskJob
}
