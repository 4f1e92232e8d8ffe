import { z } from 'zod'
import type { Clock } from '../../common/clock.js'
import { DamselflyError } from '../../protocol/damselfly-error.js'
import type { ManagerDatabase } from './database.js'
import { insertReturningId, isUniqueViolation } from './insert.js'
import type { ClusterRow } from './schema.js'

const strings = z.array(z.string().max(1024)).max(256)

/** Which hosts a cluster serves: each field narrows, an empty one matches any host. */
export const clusterScopesSchema = z.object({
  idc: z.string().max(1024).default(''),
  location: z.string().max(1024).default(''),
  cidrs: strings.default([]),
  /** Regular expressions over the hostname. */
  hostnames: strings.default([]),
})

/** Dragonfly's cluster configuration, in its JSON names, plus a blocklist. */
export const clusterConfigSchema = z.object({
  scheduler_cluster_config: z.object({
    candidate_parent_limit: z.number().int().min(1).max(20).default(4),
    filter_parent_limit: z.number().int().min(1).max(1000).default(15),
    /** Jobs created per second in this cluster. */
    job_rate_limit: z.number().int().min(1).max(1_000_000).default(10),
  }).prefault({}),
  seed_peer_cluster_config: z.object({ load_limit: z.number().int().min(1).max(100_000).default(2000) }).prefault({}),
  peer_cluster_config: z.object({ load_limit: z.number().int().min(1).max(100_000).default(200) }).prefault({}),
  /** Downloads the cluster's schedulers refuse: by application, by URL (regular expressions) and by tag. */
  blocklist: z.object({ applications: strings.default([]), urls: strings.default([]), tags: strings.default([]) }).prefault({}),
})

export type ClusterScopes = z.output<typeof clusterScopesSchema>
export type ClusterConfig = z.output<typeof clusterConfigSchema>

export interface Cluster {
  readonly id: number
  readonly name: string
  readonly bio: string
  readonly scopes: ClusterScopes
  readonly config: ClusterConfig
  readonly isDefault: boolean
  readonly createdAtMs: number
  readonly updatedAtMs: number
}

export const DEFAULT_CLUSTER_NAME = 'cluster-1'

function toCluster(row: ClusterRow): Cluster {
  return {
    id: row.id,
    name: row.name,
    bio: row.bio,
    scopes: clusterScopesSchema.parse(JSON.parse(row.scopes)),
    config: clusterConfigSchema.parse(JSON.parse(row.config)),
    isDefault: row.is_default === 1,
    createdAtMs: row.created_at_ms,
    updatedAtMs: row.updated_at_ms,
  }
}

/** Clusters in the database. Reads parse the JSON columns; writes take parsed values. */
export class ClustersRepository {
  constructor(private readonly components: { database: ManagerDatabase; clock: Clock }) {}

  private get db(): ManagerDatabase['db'] {
    return this.components.database.db
  }

  /** The default cluster, made on the first start. Safe with several managers starting at once. */
  async ensureDefault(): Promise<Cluster> {
    const existing = await this.db.selectFrom('clusters').selectAll().where('is_default', '=', 1).orderBy('id').executeTakeFirst()
    if (existing !== undefined) return toCluster(existing)
    try {
      return await this.create({ name: DEFAULT_CLUSTER_NAME, bio: 'the cluster hosts join unless another one\'s scopes match them better', isDefault: true })
    } catch (error) {
      if (!(error instanceof DamselflyError && error.code === 'ALREADY_EXISTS')) throw error
      return this.ensureDefault()
    }
  }

  async create(input: { name: string; bio?: string; scopes?: Partial<ClusterScopes>; config?: unknown; isDefault?: boolean }): Promise<Cluster> {
    const now = this.components.clock.nowMs()
    const values = {
      name: input.name,
      bio: input.bio ?? '',
      scopes: JSON.stringify(clusterScopesSchema.parse(input.scopes ?? {})),
      config: JSON.stringify(clusterConfigSchema.parse(input.config ?? {})),
      is_default: input.isDefault === true ? 1 : 0,
      created_at_ms: now,
      updated_at_ms: now,
    }
    try {
      const id = await insertReturningId(this.components.database, 'clusters', values)
      return await this.getOrThrow(id)
    } catch (error) {
      if (isUniqueViolation(error)) throw new DamselflyError('ALREADY_EXISTS', `a cluster named ${JSON.stringify(input.name)} already exists`, { cause: error })
      throw error
    }
  }

  async get(id: number): Promise<Cluster | undefined> {
    const row = await this.db.selectFrom('clusters').selectAll().where('id', '=', id).executeTakeFirst()
    return row === undefined ? undefined : toCluster(row)
  }

  async getOrThrow(id: number): Promise<Cluster> {
    const cluster = await this.get(id)
    if (cluster === undefined) throw new DamselflyError('NOT_FOUND', `no cluster ${id}`)
    return cluster
  }

  async list(page: { offset: number; limit: number } = { offset: 0, limit: 1000 }): Promise<{ clusters: Cluster[]; total: number }> {
    const rows = await this.db.selectFrom('clusters').selectAll().orderBy('id').offset(page.offset).limit(page.limit).execute()
    const { total } = await this.db.selectFrom('clusters').select((eb) => eb.fn.countAll<number>().as('total')).executeTakeFirstOrThrow()
    return { clusters: rows.map(toCluster), total }
  }

  /** Changes what `patch` names; the config is merged one section deep, as Dragonfly's PATCH does. */
  async update(id: number, patch: { name?: string; bio?: string; scopes?: Partial<ClusterScopes>; config?: Record<string, unknown> }): Promise<Cluster> {
    const current = await this.getOrThrow(id)
    const config = patch.config === undefined
      ? current.config
      : clusterConfigSchema.parse(Object.fromEntries(Object.entries(current.config).map(([section, values]) => {
        const change = patch.config?.[section]
        return [section, typeof change === 'object' && change !== null ? { ...values, ...change } : values]
      })))
    try {
      await this.db.updateTable('clusters').set({
        name: patch.name ?? current.name,
        bio: patch.bio ?? current.bio,
        scopes: JSON.stringify(clusterScopesSchema.parse({ ...current.scopes, ...patch.scopes })),
        config: JSON.stringify(config),
        updated_at_ms: this.components.clock.nowMs(),
      }).where('id', '=', id).execute()
    } catch (error) {
      if (isUniqueViolation(error)) throw new DamselflyError('ALREADY_EXISTS', `a cluster named ${JSON.stringify(patch.name)} already exists`, { cause: error })
      throw error
    }
    return this.getOrThrow(id)
  }

  /** Deletes a cluster that is not the default and has no members. */
  async delete(id: number): Promise<void> {
    const cluster = await this.getOrThrow(id)
    if (cluster.isDefault) throw new DamselflyError('INVALID_ARGUMENT', 'the default cluster cannot be deleted')
    const member = await this.db.selectFrom('schedulers').select('id').where('cluster_id', '=', id)
      .union(this.db.selectFrom('seed_peers').select('id').where('cluster_id', '=', id)).executeTakeFirst()
    if (member !== undefined) throw new DamselflyError('INVALID_ARGUMENT', `cluster ${id} still has schedulers or seed peers`)
    await this.db.deleteFrom('clusters').where('id', '=', id).execute()
  }
}
