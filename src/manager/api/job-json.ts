import type { Cluster } from '../db/clusters-repository.js'
import type { Job, JobHost } from '../db/jobs-repository.js'
import { toRfc3339 } from './input-schemas.js'

function optionalTime(ms: number | undefined): string | null {
  return ms === undefined ? null : toRfc3339(ms)
}

/** A host row of a job, for the live table and the hosts listing. */
export function jobHostJson(host: JobHost): Record<string, unknown> {
  return {
    scheduler_cluster_id: host.clusterId,
    host_id: host.hostKey,
    hostname: host.hostname,
    ip: host.ip,
    host_type: host.seed ? 'super' : 'normal',
    url: host.url,
    task_id: host.taskId,
    state: host.state,
    completed_bytes: host.completedBytes,
    content_length: host.contentLength,
    finished_pieces: host.finishedPieces,
    total_pieces: host.totalPieces,
    bytes_per_second: host.bytesPerSecond,
    code: host.code,
    description: host.description,
    cost_ms: host.costMs,
    updated_at: toRfc3339(host.updatedAtMs),
  }
}

/**
 * A preheat or distribution job's result in Dragonfly's shape, which Harbor reads: per cluster,
 * the (URL, host) pairs that succeeded and those that failed with why. Never a null entry.
 */
export function downloadResultJson(job: Job, hosts: readonly JobHost[]): Record<string, unknown> {
  const results = job.clusterIds.map((clusterId) => {
    const rows = hosts.filter((host) => host.clusterId === clusterId)
    return {
      scheduler_cluster_id: clusterId,
      success_tasks: rows.filter((row) => row.state === 'SUCCESS').map((row) => ({ url: row.url, task_id: row.taskId, hostname: row.hostname, ip: row.ip })),
      failure_tasks: rows.filter((row) => row.state !== 'SUCCESS').map((row) => ({
        url: row.url,
        task_id: row.taskId,
        hostname: row.hostname,
        ip: row.ip,
        description: row.description !== '' ? row.description : row.code !== '' ? row.code : 'not finished',
      })),
    }
  })
  return {
    state: job.state,
    created_at: toRfc3339(job.createdAtMs),
    updated_at: toRfc3339(job.updatedAtMs),
    job_states: [{
      state: job.state,
      error: job.error ?? '',
      task_name: job.type,
      created_at: toRfc3339(job.startedAtMs ?? job.createdAtMs),
      results,
    }],
  }
}

/**
 * A job in Dragonfly's JSON (`id`, `task_id`, `type`, `state`, `args`, `result`,
 * `scheduler_clusters`, RFC 3339 times), plus what Damselfly adds: `phase`, `error`, the start,
 * finish and schedule times, `run_count` and `copied_from`. `state` is only ever PENDING,
 * SUCCESS or FAILURE; `result` is null until the job ends.
 */
export function jobJson(job: Job, clusters: ReadonlyMap<number, Cluster>, hosts: readonly JobHost[] | undefined): Record<string, unknown> {
  const done = job.phase === 'done'
  let result: unknown = null
  if (done) result = job.type === 'preheat' || job.type === 'distribution' ? downloadResultJson(job, hosts ?? []) : job.result ?? null
  return {
    id: job.id,
    created_at: toRfc3339(job.createdAtMs),
    updated_at: toRfc3339(job.updatedAtMs),
    task_id: job.groupId,
    bio: job.bio,
    type: job.type,
    state: job.state,
    phase: job.phase,
    args: job.args,
    result,
    error: job.error ?? '',
    user_id: job.userId ?? null,
    user_name: job.userName,
    run_count: job.runCount,
    copied_from: job.copiedFrom ?? null,
    stop_requested_by: job.stopRequestedBy ?? null,
    scheduled_at: optionalTime(job.scheduledAtMs),
    started_at: optionalTime(job.startedAtMs),
    finished_at: optionalTime(job.finishedAtMs),
    scheduler_clusters: job.clusterIds.map((id) => {
      const cluster = clusters.get(id)
      return { id, name: cluster?.name ?? '', created_at: cluster === undefined ? null : toRfc3339(cluster.createdAtMs), updated_at: cluster === undefined ? null : toRfc3339(cluster.updatedAtMs) }
    }),
  }
}
