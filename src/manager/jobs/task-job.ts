import { Metadata, type CallOptions, type ClientUnaryCall, type ServiceError } from '@grpc/grpc-js'
import { DamselflyError, toDamselflyError } from '../../protocol/damselfly-error.js'
import { DEFAULT_FILTERED_QUERY_PARAMS, taskIdFor } from '../../protocol/task-id.js'
import {
  TaskState,
  type DeleteTaskResponse,
  type SelectedHost,
  type StatTaskResponse,
} from '../../protocol/generated/damselfly/scheduler/v1/scheduler.js'
import type { Job } from '../db/jobs-repository.js'
import { taskSpecOf, type TaskJobSpec } from './job-args.js'
import type { ClusterSchedulers } from './cluster-schedulers.js'
import type { ImageResolver } from './download-job.js'
import type { JobCredentials } from './job-args.js'

/** How long hosts have to answer whether they hold a task, or to delete it. */
const HOST_ANSWER_TIMEOUT_MS = 10_000

/** Tasks asked about at once: each ask reaches every host of the cluster, and an image may have dozens of layers. */
const TASKS_AT_ONCE = 8

/** `run` over `items`, at most `size` at once, the answers in the items' order. */
async function inBatches<T, R>(items: readonly T[], size: number, run: (item: T) => Promise<R>): Promise<R[]> {
  const answers: R[] = []
  for (let start = 0; start < items.length; start += size) answers.push(...await Promise.all(items.slice(start, start + size).map(run)))
  return answers
}

/** A task a get_task or delete_task job is about; for an image, `url` and `digest` name the blob. */
export interface NamedTask {
  readonly taskId: string
  readonly url: string | undefined
  readonly digest: string | undefined
}

/** The task a get_task or delete_task job names by id or URL: its id, or the id its URL gives. */
export function taskIdOf(spec: TaskJobSpec): string {
  if (spec.taskId !== undefined) return spec.taskId
  if (spec.url === undefined) throw new DamselflyError('INVALID_ARGUMENT', 'args: give task_id or url')
  return taskIdFor({
    url: spec.url,
    tag: spec.tag,
    application: spec.application,
    pieceLengthBytes: spec.pieceLengthBytes,
    filteredQueryParams: [...DEFAULT_FILTERED_QUERY_PARAMS, ...spec.filteredQueryParams],
  })
}

/**
 * Every task the job names: one, or for an image its config and each layer, resolved as a preheat
 * resolves it, with the ids a preheat (or a pull through the mirror) gives those blobs.
 */
export async function tasksOf(spec: TaskJobSpec, credentials: JobCredentials, resolveImage: ImageResolver, signal: AbortSignal): Promise<NamedTask[]> {
  if (!spec.image) return [{ taskId: taskIdOf(spec), url: spec.url, digest: undefined }]
  if (spec.url === undefined) throw new DamselflyError('INVALID_ARGUMENT', 'args.url: an image job needs the image\'s manifest URL')
  const image = await resolveImage({ manifestUrl: spec.url, headers: credentials.headers, username: credentials.username, password: credentials.password, platform: spec.platform, signal })
  const filteredQueryParams = [...new Set([...DEFAULT_FILTERED_QUERY_PARAMS, ...spec.filteredQueryParams])]
  const tasks = image.blobs.map((blob) => ({
    taskId: taskIdFor({ url: blob.url, tag: spec.tag, application: spec.application, pieceLengthBytes: spec.pieceLengthBytes, filteredQueryParams }),
    url: blob.url,
    digest: blob.digest,
  }))
  // A layer listed twice (or equal to the config) is one task.
  return tasks.filter((task, index) => tasks.findIndex((other) => other.taskId === task.taskId) === index)
}

const STATE_NAMES: Partial<Record<TaskState, string>> = {
  [TaskState.TASK_STATE_RUNNING]: 'Running',
  [TaskState.TASK_STATE_PARTIAL]: 'Partial',
  [TaskState.TASK_STATE_SUCCEEDED]: 'Succeeded',
}

/** Dragonfly calls a seed peer's host type `super`. */
function hostType(host: SelectedHost | undefined): string {
  return host?.seed === true ? 'super' : 'normal'
}

function rfc3339(ms: number): string {
  return new Date(ms).toISOString()
}

/** One unary call to a scheduler, with a deadline, cancelled with `signal`. */
function unary<Res>(
  start: (options: CallOptions, callback: (error: ServiceError | null, response: Res) => void) => ClientUnaryCall,
  signal: AbortSignal,
): Promise<Res> {
  return new Promise<Res>((resolve, reject) => {
    const call = start({ deadline: Date.now() + HOST_ANSWER_TIMEOUT_MS + 5_000 }, (error, response) => {
      signal.removeEventListener('abort', cancel)
      if (error !== null) reject(error)
      else resolve(response)
    })
    const cancel = (): void => call.cancel()
    signal.addEventListener('abort', cancel, { once: true })
  })
}

export interface TaskJobResult {
  readonly state: 'SUCCESS' | 'FAILURE'
  readonly error?: string
  /** Dragonfly's result object. */
  readonly result: Record<string, unknown>
}

/**
 * Runs get_task (which hosts hold the task, in what state) and delete_task (delete it from every
 * host that holds it), asking one live scheduler per cluster: each holds a stream to every host
 * of its cluster. An image is every task of its blobs; the result lists each task with what each
 * cluster answered for it (`tasks`), and, in Dragonfly's shape, every answer in `job_states`.
 */
export class TaskJob {
  constructor(private readonly components: { schedulers: Pick<ClusterSchedulers, 'withScheduler'>; resolveImage: ImageResolver }) {}

  async run(job: Job, credentials: JobCredentials, signal: AbortSignal): Promise<TaskJobResult> {
    const spec = taskSpecOf(job.args)
    const tasks = await tasksOf(spec, credentials, this.components.resolveImage, signal)
    const errors = new Set<string>()
    const answered = await inBatches(tasks, TASKS_AT_ONCE, async (task) => {
      const results = await Promise.all(job.clusterIds.map(async (clusterId) => {
        try {
          return job.type === 'delete_task'
            ? await this.deleteIn(clusterId, task.taskId, signal)
            : await this.statIn(clusterId, task.taskId, signal)
        } catch (error) {
          if (signal.aborted) throw signal.reason
          errors.add(`cluster ${clusterId}: ${toDamselflyError(error).message}`)
          return undefined
        }
      }))
      return { task, results: results.filter((result) => result !== undefined) }
    })
    // Dragonfly's shape has one task: with several, each answer says which it is about.
    const results = answered.flatMap(({ task, results }) => results.map((result) => (tasks.length > 1 ? { ...result, task_id: task.taskId } : result)))
    const failures = results.reduce((sum, result) => sum + ((result['failure_tasks'] as unknown[] | undefined)?.length ?? 0), 0)
    if (failures > 0) errors.add(tasks.length > 1 ? `${failures} host deletions of the image's ${tasks.length} tasks failed` : `${failures} hosts failed to delete task ${tasks[0]?.taskId ?? ''}`)
    const state = errors.size === 0 ? 'SUCCESS' : 'FAILURE'
    const error = [...errors].join('; ')
    return {
      state,
      ...(errors.size === 0 ? {} : { error }),
      result: {
        state,
        ...(spec.image ? {} : { task_id: tasks[0]?.taskId }),
        job_states: [{ state, error, task_name: job.type, results }],
        tasks: answered.map(({ task, results }) => ({
          task_id: task.taskId,
          ...(task.url === undefined ? {} : { url: task.url }),
          ...(task.digest === undefined ? {} : { digest: task.digest }),
          results,
        })),
      },
    }
  }

  private async statIn(clusterId: number, taskId: string, signal: AbortSignal): Promise<Record<string, unknown>> {
    const response = await this.components.schedulers.withScheduler(clusterId, ({ client }) =>
      unary<StatTaskResponse>((options, callback) => client.statTask({ taskId, timeoutMs: HOST_ANSWER_TIMEOUT_MS }, new Metadata(), options, callback), signal))
    return {
      scheduler_cluster_id: clusterId,
      peers: response.hosts.map(({ host, stat }) => ({
        id: `${host?.hostId ?? ''}-${taskId}`,
        host_id: host?.hostId ?? '',
        hostname: host?.hostname ?? '',
        ip: host?.ip ?? '',
        host_type: hostType(host),
        state: STATE_NAMES[stat?.state ?? TaskState.TASK_STATE_UNSPECIFIED] ?? 'Unknown',
        content_length: stat?.contentLength ?? 0,
        finished_pieces: stat?.finishedPieces ?? 0,
        total_pieces: stat?.totalPieces ?? 0,
        created_at: rfc3339(stat?.createdAtMs ?? 0),
        updated_at: rfc3339(stat?.updatedAtMs ?? 0),
      })),
      unanswered_hosts: response.unanswered.map((host) => ({ hostname: host.hostname, ip: host.ip, host_type: hostType(host) })),
    }
  }

  private async deleteIn(clusterId: number, taskId: string, signal: AbortSignal): Promise<Record<string, unknown>> {
    const response = await this.components.schedulers.withScheduler(clusterId, ({ client }) =>
      unary<DeleteTaskResponse>((options, callback) => client.deleteTask({ taskId, timeoutMs: HOST_ANSWER_TIMEOUT_MS }, new Metadata(), options, callback), signal))
    const entry = (host: SelectedHost | undefined): Record<string, string> => ({ task_id: taskId, hostname: host?.hostname ?? '', ip: host?.ip ?? '', host_type: hostType(host) })
    return {
      scheduler_cluster_id: clusterId,
      success_tasks: response.hosts.filter(({ result }) => result?.deleted === true).map(({ host }) => entry(host)),
      failure_tasks: [
        ...response.hosts.filter(({ result }) => result?.deleted !== true).map(({ host, result }) => ({ ...entry(host), description: result?.error || 'not deleted' })),
        ...response.unanswered.map((host) => ({ ...entry(host), description: `no answer within ${HOST_ANSWER_TIMEOUT_MS / 1000} s` })),
      ],
    }
  }
}
