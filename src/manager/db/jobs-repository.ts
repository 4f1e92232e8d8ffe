import { randomUUID } from 'node:crypto'
import { sql } from 'kysely'
import type { Clock } from '../../common/clock.js'
import { DamselflyError } from '../../protocol/damselfly-error.js'
import type { ManagerDatabase } from './database.js'
import { insertReturningId } from './insert.js'
import type { JobType } from './job-type.js'
import type { Page, Paged } from './page.js'
import type { JobHostRow, JobHostState, JobPhase, JobRow, JobState } from './schema.js'

export const JOB_STATES = ['PENDING', 'SUCCESS', 'FAILURE'] as const satisfies readonly JobState[]

export interface Job {
  readonly id: number
  readonly type: JobType
  readonly state: JobState
  readonly phase: JobPhase
  readonly groupId: string
  readonly bio: string
  /** The arguments as answered: credentials are never here (see `sealedSecrets`). */
  readonly args: Record<string, unknown>
  readonly sealedSecrets: string | undefined
  readonly clusterIds: readonly number[]
  readonly result: unknown
  readonly error: string | undefined
  readonly userId: number | undefined
  readonly userName: string
  readonly copiedFrom: number | undefined
  readonly runCount: number
  readonly stopRequestedBy: string | undefined
  readonly scheduledAtMs: number | undefined
  readonly startedAtMs: number | undefined
  readonly finishedAtMs: number | undefined
  readonly createdAtMs: number
  readonly updatedAtMs: number
}

export interface NewJob {
  readonly type: JobType
  readonly bio: string
  readonly args: Record<string, unknown>
  readonly sealedSecrets: string | undefined
  readonly clusterIds: readonly number[]
  readonly userId: number | undefined
  readonly userName: string
  readonly copiedFrom?: number
  readonly scheduledAtMs: number | undefined
}

/** One host's download of one of the job's URLs. */
export interface JobHost {
  readonly clusterId: number
  /** The host's id, or the name asked for when no host matched it. */
  readonly hostKey: string
  readonly hostname: string
  readonly ip: string
  readonly seed: boolean
  readonly url: string
  readonly urlIndex: number
  readonly taskId: string
  readonly state: JobHostState
  readonly completedBytes: number
  readonly contentLength: number
  readonly finishedPieces: number
  readonly totalPieces: number
  readonly bytesPerSecond: number
  /** The failure's error code; '' unless FAILURE. */
  readonly code: string
  readonly description: string
  readonly costMs: number
  readonly createdAtMs: number
  readonly updatedAtMs: number
}

export type JobHostWrite = Omit<JobHost, 'createdAtMs' | 'updatedAtMs'>

export interface JobFilter {
  readonly type?: JobType
  readonly state?: JobState
  readonly userId?: number
}

const MAX_DESCRIPTION_CHARS = 1024

/** Rows per upsert: 20 columns each stays well under every dialect's limit on bound parameters. */
const HOST_ROWS_PER_STATEMENT = 500

/** What a write of a host row changes when the row exists (its key and creation time stay). */
const UPDATED_HOST_COLUMNS = [
  'cluster_id', 'hostname', 'ip', 'seed', 'url', 'task_id', 'state', 'completed_bytes', 'content_length', 'finished_pieces',
  'total_pieces', 'bytes_per_second', 'code', 'description', 'cost_ms', 'updated_at_ms',
] as const

function toJob(row: JobRow): Job {
  return {
    id: row.id,
    type: row.type as JobType,
    state: row.state,
    phase: row.phase,
    groupId: row.group_id,
    bio: row.bio,
    args: JSON.parse(row.args) as Record<string, unknown>,
    sealedSecrets: row.secrets ?? undefined,
    clusterIds: JSON.parse(row.cluster_ids) as number[],
    result: row.result === null ? undefined : JSON.parse(row.result) as unknown,
    error: row.error ?? undefined,
    userId: row.user_id ?? undefined,
    userName: row.user_name,
    copiedFrom: row.copied_from ?? undefined,
    runCount: row.run_count,
    stopRequestedBy: row.stop_requested_by ?? undefined,
    scheduledAtMs: row.scheduled_at_ms ?? undefined,
    startedAtMs: row.started_at_ms ?? undefined,
    finishedAtMs: row.finished_at_ms ?? undefined,
    createdAtMs: row.created_at_ms,
    updatedAtMs: row.updated_at_ms,
  }
}

function toJobHost(row: JobHostRow): JobHost {
  return {
    clusterId: row.cluster_id,
    hostKey: row.host_key,
    hostname: row.hostname,
    ip: row.ip,
    seed: row.seed === 1,
    url: row.url,
    urlIndex: row.url_index,
    taskId: row.task_id,
    state: row.state,
    completedBytes: row.completed_bytes,
    contentLength: row.content_length,
    finishedPieces: row.finished_pieces,
    totalPieces: row.total_pieces,
    bytesPerSecond: row.bytes_per_second,
    code: row.code,
    description: row.description,
    costMs: row.cost_ms,
    createdAtMs: row.created_at_ms,
    updatedAtMs: row.updated_at_ms,
  }
}

/**
 * Jobs and their per-host rows. Every manager sharing the database reads the same state: a job
 * runs in one manager at a time (the job queue sees to that), and the others serve its progress
 * from here.
 */
export class JobsRepository {
  constructor(private readonly components: { database: ManagerDatabase; clock: Clock }) {}

  private get db(): ManagerDatabase['db'] {
    return this.components.database.db
  }

  private now(): number {
    return this.components.clock.nowMs()
  }

  async create(input: NewJob): Promise<Job> {
    const now = this.now()
    const id = await insertReturningId(this.components.database, 'jobs', {
      type: input.type,
      state: 'PENDING',
      phase: input.scheduledAtMs !== undefined && input.scheduledAtMs > now ? 'scheduled' : 'queued',
      group_id: `group_${randomUUID()}`,
      bio: input.bio,
      args: JSON.stringify(input.args),
      secrets: input.sealedSecrets ?? null,
      cluster_ids: JSON.stringify(input.clusterIds),
      result: null,
      error: null,
      user_id: input.userId ?? null,
      user_name: input.userName,
      copied_from: input.copiedFrom ?? null,
      run_count: 0,
      stop_requested_by: null,
      scheduled_at_ms: input.scheduledAtMs ?? null,
      started_at_ms: null,
      finished_at_ms: null,
      created_at_ms: now,
      updated_at_ms: now,
    })
    return this.getOrThrow(id)
  }

  async get(id: number): Promise<Job | undefined> {
    const row = await this.db.selectFrom('jobs').selectAll().where('id', '=', id).executeTakeFirst()
    return row === undefined ? undefined : toJob(row)
  }

  async getOrThrow(id: number): Promise<Job> {
    const job = await this.get(id)
    if (job === undefined) throw new DamselflyError('NOT_FOUND', `no job ${id}`)
    return job
  }

  /** Newest first. */
  async list(filter: JobFilter, page: Page): Promise<Paged<Job>> {
    let query = this.db.selectFrom('jobs')
    if (filter.type !== undefined) query = query.where('type', '=', filter.type)
    if (filter.state !== undefined) query = query.where('state', '=', filter.state)
    if (filter.userId !== undefined) query = query.where('user_id', '=', filter.userId)
    const rows = await query.selectAll().orderBy('id', 'desc').offset(page.offset).limit(page.limit).execute()
    const { total } = await query.select((eb) => eb.fn.countAll<number | string>().as('total')).executeTakeFirstOrThrow()
    return { items: rows.map(toJob), total: Number(total) }
  }

  /** Jobs not finished yet (queued, scheduled or running), oldest first: what an in-process queue takes up again at start. */
  async listUnfinished(): Promise<Job[]> {
    const rows = await this.db.selectFrom('jobs').selectAll().where('phase', '!=', 'done').orderBy('id').execute()
    return rows.map(toJob)
  }

  /** Marks the job started once more; answers it as it now is. */
  async markRunning(id: number): Promise<Job> {
    const now = this.now()
    const current = await this.getOrThrow(id)
    await this.db.updateTable('jobs').set({
      phase: 'running', state: 'PENDING', run_count: current.runCount + 1, started_at_ms: current.startedAtMs ?? now, updated_at_ms: now,
    }).where('id', '=', id).execute()
    return this.getOrThrow(id)
  }

  /** Ends the job: its final state, the error that failed it as a whole, and a get/delete task result. */
  async finish(id: number, outcome: { state: 'SUCCESS' | 'FAILURE'; error?: string | undefined; result?: unknown }): Promise<void> {
    const now = this.now()
    await this.db.updateTable('jobs').set({
      state: outcome.state,
      phase: 'done',
      error: outcome.error === undefined ? null : outcome.error.slice(0, MAX_DESCRIPTION_CHARS),
      ...(outcome.result === undefined ? {} : { result: JSON.stringify(outcome.result) }),
      finished_at_ms: now,
      updated_at_ms: now,
    }).where('id', '=', id).execute()
  }

  /** Asks the manager running the job to stop it; answers false for a job already finished. */
  async requestStop(id: number, by: string): Promise<boolean> {
    const result = await this.db.updateTable('jobs').set({ stop_requested_by: by, updated_at_ms: this.now() })
      .where('id', '=', id).where('phase', '!=', 'done').executeTakeFirst()
    return Number(result.numUpdatedRows) > 0
  }

  /** Puts a finished job back in the queue (a rerun): PENDING again, its stop request cleared. */
  async requeue(id: number): Promise<void> {
    await this.db.updateTable('jobs').set({
      state: 'PENDING', phase: 'queued', error: null, stop_requested_by: null, finished_at_ms: null, updated_at_ms: this.now(),
    }).where('id', '=', id).execute()
  }

  async setPhase(id: number, phase: JobPhase): Promise<void> {
    await this.db.updateTable('jobs').set({ phase, updated_at_ms: this.now() }).where('id', '=', id).execute()
  }

  async setBio(id: number, bio: string): Promise<Job> {
    await this.getOrThrow(id)
    await this.db.updateTable('jobs').set({ bio, updated_at_ms: this.now() }).where('id', '=', id).execute()
    return this.getOrThrow(id)
  }

  /** Deletes the job and its host rows (its sealed credentials go with it). */
  async delete(id: number): Promise<void> {
    await this.getOrThrow(id)
    await this.db.deleteFrom('job_hosts').where('job_id', '=', id).execute()
    await this.db.deleteFrom('jobs').where('id', '=', id).execute()
  }

  /**
   * Writes each host row, inserting it or replacing the one with the same host and URL: one
   * statement per batch of rows (an upsert in each dialect's words), however many hosts report.
   */
  async writeHosts(jobId: number, hosts: readonly JobHostWrite[]): Promise<void> {
    const now = this.now()
    const rows = hosts.map((host) => ({
      job_id: jobId,
      host_key: host.hostKey,
      url_index: host.urlIndex,
      cluster_id: host.clusterId,
      hostname: host.hostname,
      ip: host.ip,
      seed: host.seed ? 1 : 0,
      url: host.url,
      task_id: host.taskId,
      state: host.state,
      completed_bytes: host.completedBytes,
      content_length: host.contentLength,
      finished_pieces: host.finishedPieces,
      total_pieces: host.totalPieces,
      bytes_per_second: host.bytesPerSecond,
      code: host.code,
      description: host.description.slice(0, MAX_DESCRIPTION_CHARS),
      cost_ms: host.costMs,
      created_at_ms: now,
      updated_at_ms: now,
    }))
    for (let first = 0; first < rows.length; first += HOST_ROWS_PER_STATEMENT) {
      const batch = rows.slice(first, first + HOST_ROWS_PER_STATEMENT)
      const insert = this.db.insertInto('job_hosts').values(batch)
      if (this.components.database.dialect === 'mysql') {
        await insert.onDuplicateKeyUpdate(Object.fromEntries(UPDATED_HOST_COLUMNS.map((column) => [column, sql.raw(`VALUES(${column})`)]))).execute()
      } else {
        await insert.onConflict((conflict) => conflict.columns(['job_id', 'host_key', 'url_index'])
          .doUpdateSet((eb) => Object.fromEntries(UPDATED_HOST_COLUMNS.map((column) => [column, eb.ref(`excluded.${column}`)])))).execute()
      }
    }
  }

  async listHosts(jobId: number, filter: { state?: JobHostState } = {}, page: Page = { offset: 0, limit: 100_000 }): Promise<Paged<JobHost>> {
    let query = this.db.selectFrom('job_hosts').where('job_id', '=', jobId)
    if (filter.state !== undefined) query = query.where('state', '=', filter.state)
    const rows = await query.selectAll().orderBy('id').offset(page.offset).limit(page.limit).execute()
    const { total } = await query.select((eb) => eb.fn.countAll<number | string>().as('total')).executeTakeFirstOrThrow()
    return { items: rows.map(toJobHost), total: Number(total) }
  }

  /** Host rows changed after `sinceMs`, oldest change first: what a live view has not seen yet. */
  async hostsChangedSince(jobId: number, sinceMs: number, limit: number): Promise<JobHost[]> {
    const rows = await this.db.selectFrom('job_hosts').selectAll().where('job_id', '=', jobId).where('updated_at_ms', '>', sinceMs)
      .orderBy('updated_at_ms').orderBy('id').limit(limit).execute()
    return rows.map(toJobHost)
  }

  /** Hosts rows not finished: after a manager died mid-run, these are what the next run owes. */
  async failUnfinishedHosts(jobId: number, code: string, description: string): Promise<void> {
    await this.db.updateTable('job_hosts').set({ state: 'FAILURE', code, description, bytes_per_second: 0, updated_at_ms: this.now() })
      .where('job_id', '=', jobId).where('state', 'in', ['PENDING', 'RUNNING']).execute()
  }
}
