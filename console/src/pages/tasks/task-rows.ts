import type { TaskAnswer, TaskJob } from './task-job'

/** A row of the "Hosts holding the task" table: one host and one task. */
export interface HolderRow {
  readonly key: string
  readonly taskId: string
  readonly clusterId: number
  readonly hostname: string
  readonly ip: string
  readonly hostType: string
  /** `Running`, `Partial`, `Succeeded`; `No answer` for a host that did not answer in time. */
  readonly state: string
  /** `12/256`; empty for a host that did not answer. */
  readonly pieces: string
  readonly updatedAt: string
}

/** A row of the delete outcome: one host and one task, deleted or not and why. */
export interface DeletedRow {
  readonly key: string
  readonly taskId: string
  readonly clusterId: number
  readonly hostname: string
  readonly ip: string
  readonly hostType: string
  readonly deleted: boolean
  readonly description: string
}

/** The tasks of a finished job, in the order the job answered them. */
export function tasksOf(job: TaskJob | undefined): readonly TaskAnswer[] {
  return job?.result?.tasks ?? []
}

/** Every host the scheduler found holding each task, then those that did not answer. */
export function holderRowsOf(tasks: readonly TaskAnswer[]): HolderRow[] {
  return tasks.flatMap((task) => task.results.flatMap((answer) => [
    ...(answer.peers ?? []).map((peer) => ({
      key: `${task.task_id}/${answer.scheduler_cluster_id}/${peer.host_id}/${peer.ip}`,
      taskId: task.task_id,
      clusterId: answer.scheduler_cluster_id,
      hostname: peer.hostname,
      ip: peer.ip,
      hostType: peer.host_type,
      state: peer.state,
      pieces: `${peer.finished_pieces}/${peer.total_pieces}`,
      updatedAt: peer.updated_at,
    })),
    ...(answer.unanswered_hosts ?? []).map((host) => ({
      key: `${task.task_id}/${answer.scheduler_cluster_id}/unanswered/${host.hostname}/${host.ip}`,
      taskId: task.task_id,
      clusterId: answer.scheduler_cluster_id,
      hostname: host.hostname,
      ip: host.ip,
      hostType: host.host_type,
      state: 'No answer',
      pieces: '',
      updatedAt: '',
    })),
  ]))
}

/** How many hosts hold the task (those that answered). */
export function holderCount(task: TaskAnswer): number {
  return task.results.reduce((sum, answer) => sum + (answer.peers?.length ?? 0), 0)
}

/** Each host a delete_task reached, per task: deleted, or why not. */
export function deletedRowsOf(tasks: readonly TaskAnswer[]): DeletedRow[] {
  return tasks.flatMap((task) => task.results.flatMap((answer) => {
    const row = (host: { hostname: string; ip: string; host_type: string }, deleted: boolean, description: string, index: number): DeletedRow => ({
      key: `${task.task_id}/${answer.scheduler_cluster_id}/${deleted ? 'ok' : 'failed'}/${index}`,
      taskId: task.task_id,
      clusterId: answer.scheduler_cluster_id,
      hostname: host.hostname,
      ip: host.ip,
      hostType: host.host_type,
      deleted,
      description,
    })
    return [
      ...(answer.success_tasks ?? []).map((host, index) => row(host, true, '', index)),
      ...(answer.failure_tasks ?? []).map((host, index) => row(host, false, host.description, index)),
    ]
  }))
}

/** `1f3a…9c0d`: a task id short enough for a table cell; the full id is in its title. */
export function shortTaskId(taskId: string): string {
  return taskId.length <= 16 ? taskId : `${taskId.slice(0, 8)}…${taskId.slice(-8)}`
}
