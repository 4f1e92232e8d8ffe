import type { Clock } from '../../common/clock.js'
import { DamselflyError } from '../../protocol/damselfly-error.js'
import type { ClustersRepository } from '../db/clusters-repository.js'
import type { JobType } from '../db/job-type.js'
import type { Job, JobsRepository } from '../db/jobs-repository.js'
import { parseJobArgs } from './job-args.js'
import type { JobSecrets } from './job-secrets.js'

/** What the service needs of the job queue. */
export interface JobEnqueuer {
  enqueue(jobId: number, runAt?: Date): Promise<void>
  remove(jobId: number): Promise<void>
}

/** Who creates or changes a job, for the job's record. */
export interface JobActor {
  readonly userId: number | undefined
  readonly name: string
}

export interface CreateJobInput {
  readonly type: JobType
  readonly bio: string
  readonly args: unknown
  /** Empty: the default cluster. */
  readonly clusterIds: readonly number[]
  readonly scheduledAtMs: number | undefined
}

/** Jobs created per cluster per second, as a token bucket refilled at the cluster's `job_rate_limit`. */
class ClusterRateLimits {
  private readonly buckets = new Map<number, { tokens: number; atMs: number }>()

  constructor(private readonly clock: Clock) {}

  /** Takes one token from each cluster's bucket, or none and throws TOO_MANY_REQUESTS. */
  take(limits: ReadonlyArray<{ clusterId: number; perSecond: number }>): void {
    const now = this.clock.nowMs()
    const refilled = limits.map(({ clusterId, perSecond }) => {
      const bucket = this.buckets.get(clusterId) ?? { tokens: perSecond, atMs: now }
      return { clusterId, perSecond, tokens: Math.min(perSecond, bucket.tokens + ((now - bucket.atMs) / 1000) * perSecond) }
    })
    const empty = refilled.find((bucket) => bucket.tokens < 1)
    if (empty !== undefined) {
      throw new DamselflyError('TOO_MANY_REQUESTS', `cluster ${empty.clusterId} takes at most ${empty.perSecond} new jobs per second (job_rate_limit); try again shortly`)
    }
    for (const bucket of refilled) this.buckets.set(bucket.clusterId, { tokens: bucket.tokens - 1, atMs: now })
  }
}

/**
 * Creating, stopping, rerunning, copying and deleting jobs: the API's side of jobs. Running them
 * is the queue's and the runner's; every manager sharing the database may serve these calls for
 * a job another manager runs.
 */
export class JobService {
  private readonly limits: ClusterRateLimits

  constructor(
    private readonly components: {
      jobs: JobsRepository
      clusters: ClustersRepository
      secrets: JobSecrets
      queue: JobEnqueuer
      clock: Clock
      /** Told of every job created (metrics). */
      onCreated?: (job: Job) => void
    },
  ) {
    this.limits = new ClusterRateLimits(components.clock)
  }

  async create(input: CreateJobInput, actor: JobActor): Promise<Job> {
    let parsed
    try {
      parsed = parseJobArgs(input.type, input.args)
    } catch (error) {
      throw new DamselflyError('INVALID_ARGUMENT', describeArgsError(error), { cause: error })
    }
    const clusterIds = await this.clusterIdsOf(input.clusterIds)
    const clusters = await Promise.all(clusterIds.map((id) => this.components.clusters.getOrThrow(id)))
    this.limits.take(clusters.map((cluster) => ({ clusterId: cluster.id, perSecond: cluster.config.scheduler_cluster_config.job_rate_limit })))
    return this.insert({
      type: input.type,
      bio: input.bio,
      args: parsed.args,
      sealedSecrets: await this.components.secrets.seal(parsed.credentials),
      clusterIds,
      scheduledAtMs: input.scheduledAtMs,
    }, actor)
  }

  /** Stops a job: one not started yet ends at once; a running one ends within a second, wherever it runs. */
  async stop(id: number, actor: JobActor): Promise<Job> {
    const job = await this.components.jobs.getOrThrow(id)
    if (job.phase === 'done') throw new DamselflyError('INVALID_ARGUMENT', `job ${id} has already finished (${job.state})`)
    await this.components.jobs.requestStop(id, actor.name)
    if (job.phase === 'queued' || job.phase === 'scheduled') {
      await this.components.queue.remove(id)
      const current = await this.components.jobs.getOrThrow(id)
      // Unless a manager took it from the queue meanwhile: that one sees the request and stops it.
      if (current.phase !== 'running') await this.components.jobs.finish(id, { state: 'FAILURE', error: `stopped by ${actor.name} before it started` })
    }
    return this.components.jobs.getOrThrow(id)
  }

  /** Runs a finished preheat or distribution job again, on the hosts whose downloads did not all succeed. */
  async rerunFailed(id: number): Promise<Job> {
    const job = await this.components.jobs.getOrThrow(id)
    if (job.type !== 'preheat' && job.type !== 'distribution') throw new DamselflyError('INVALID_ARGUMENT', `a ${job.type} job cannot be rerun; create a new one`)
    if (job.phase !== 'done') throw new DamselflyError('INVALID_ARGUMENT', `job ${id} is still running; stop it or wait for it to finish`)
    if (job.state === 'SUCCESS') throw new DamselflyError('INVALID_ARGUMENT', `job ${id} succeeded on every host: there is nothing to rerun`)
    const { items } = await this.components.jobs.listHosts(id)
    if (items.length > 0 && items.every((row) => row.state === 'SUCCESS')) {
      throw new DamselflyError('INVALID_ARGUMENT', `every host of job ${id} succeeded; it failed as a whole (${job.error ?? 'see its error'}): copy it instead`)
    }
    await this.components.jobs.requeue(id)
    await this.components.queue.enqueue(id)
    return this.components.jobs.getOrThrow(id)
  }

  /** A new job with the same type, arguments, credentials and clusters; it runs now, or at `scheduledAtMs`. */
  async copy(id: number, actor: JobActor, scheduledAtMs: number | undefined): Promise<Job> {
    const job = await this.components.jobs.getOrThrow(id)
    const clusters = await Promise.all(job.clusterIds.map((clusterId) => this.components.clusters.getOrThrow(clusterId)))
    this.limits.take(clusters.map((cluster) => ({ clusterId: cluster.id, perSecond: cluster.config.scheduler_cluster_config.job_rate_limit })))
    return this.insert({
      type: job.type,
      bio: job.bio,
      args: job.args,
      sealedSecrets: job.sealedSecrets,
      clusterIds: job.clusterIds,
      scheduledAtMs,
      copiedFrom: job.id,
    }, actor)
  }

  /** Deletes a job; a running one is stopped first (its manager sees it gone within a second). */
  async delete(id: number): Promise<void> {
    await this.components.queue.remove(id)
    await this.components.jobs.delete(id)
  }

  private async insert(input: Omit<Parameters<JobsRepository['create']>[0], 'userId' | 'userName'>, actor: JobActor): Promise<Job> {
    const job = await this.components.jobs.create({ ...input, userId: actor.userId, userName: actor.name })
    this.components.onCreated?.(job)
    const runAt = input.scheduledAtMs === undefined ? undefined : new Date(input.scheduledAtMs)
    await this.components.queue.enqueue(job.id, runAt)
    return job
  }

  /** `scheduler_cluster_ids` absent, null or empty: the default cluster, as Harbor expects. */
  private async clusterIdsOf(ids: readonly number[]): Promise<number[]> {
    if (ids.length > 0) return [...new Set(ids)]
    return [(await this.components.clusters.ensureDefault()).id]
  }
}

/** One line naming the argument at fault. */
function describeArgsError(error: unknown): string {
  const issues = (error as { issues?: ReadonlyArray<{ path: ReadonlyArray<PropertyKey>; message: string }> }).issues
  if (issues !== undefined) {
    return issues.slice(0, 3).map((issue) => `body.args${issue.path.map((key) => typeof key === 'number' ? `[${key}]` : `.${String(key)}`).join('')}: ${issue.message}`).join('; ')
  }
  return error instanceof Error ? error.message : String(error)
}
