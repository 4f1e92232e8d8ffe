import { sql } from 'kysely'
import type { ManagerDatabase } from './database.js'
import { containsPattern, type Page, type Paged } from './page.js'
import type { MemberState, SchedulerRow, SeedPeerRow } from './schema.js'

/** How a listing of schedulers or seed peers narrows; every field is optional and they combine with AND. */
export interface MemberFilter {
  readonly clusterId?: number
  readonly state?: MemberState
  readonly idc?: string
  readonly location?: string
  /** A substring of the hostname. */
  readonly hostname?: string
  /** A substring of the address. */
  readonly ip?: string
  /** Seed peers only: `super`, `strong` or `weak`. */
  readonly type?: string
}

/** How many members a cluster has: schedulers and seed peers in state active (kept by keepalive), and hosts reported. */
export interface ClusterMemberCounts {
  readonly activeSchedulers: number
  readonly activeSeedPeers: number
  readonly hosts: number
}

/**
 * Reads (and deletes) the schedulers and seed peers the gRPC side registers. Read-only apart
 * from delete: registration and keepalive belong to the gRPC side's repositories.
 */
export class MembersQuery {
  constructor(private readonly components: { database: ManagerDatabase }) {}

  private get db(): ManagerDatabase['db'] {
    return this.components.database.db
  }

  listSchedulers(filter: MemberFilter, page: Page): Promise<Paged<SchedulerRow>> {
    return this.page<SchedulerRow>('schedulers', filter, page)
  }

  listSeedPeers(filter: MemberFilter, page: Page): Promise<Paged<SeedPeerRow>> {
    return this.page<SeedPeerRow>('seed_peers', filter, page)
  }

  /** One page of either table: they share every column a filter names but `type`, which only seed peers have. */
  private async page<Row>(table: 'schedulers' | 'seed_peers', filter: MemberFilter, page: Page): Promise<Paged<Row>> {
    let query = this.db.selectFrom(sql<SeedPeerRow>`${sql.table(table)}`.as('members'))
    if (filter.clusterId !== undefined) query = query.where('cluster_id', '=', filter.clusterId)
    if (filter.state !== undefined) query = query.where('state', '=', filter.state)
    if (filter.idc !== undefined) query = query.where('idc', '=', filter.idc)
    if (filter.location !== undefined) query = query.where('location', '=', filter.location)
    if (filter.type !== undefined && table === 'seed_peers') query = query.where('type', '=', filter.type)
    if (filter.hostname !== undefined) query = query.where(sql<boolean>`hostname like ${containsPattern(filter.hostname)} escape '!'`)
    if (filter.ip !== undefined) query = query.where(sql<boolean>`ip like ${containsPattern(filter.ip)} escape '!'`)
    const items = await query.selectAll().orderBy('id').offset(page.offset).limit(page.limit).execute()
    const { total } = await query.select((eb) => eb.fn.countAll<number | string>().as('total')).executeTakeFirstOrThrow()
    return { items: items as Row[], total: Number(total) }
  }

  /** The counts of each cluster named: one grouped query per table, whatever the number of clusters. */
  async countsByCluster(clusterIds: readonly number[]): Promise<Map<number, ClusterMemberCounts>> {
    const counts = new Map<number, ClusterMemberCounts>(clusterIds.map((id) => [id, { activeSchedulers: 0, activeSeedPeers: 0, hosts: 0 }]))
    if (clusterIds.length === 0) return counts
    const ids = [...clusterIds]
    const grouped = (rows: ReadonlyArray<{ cluster_id: number; count: number | string | bigint }>, field: keyof ClusterMemberCounts): void => {
      for (const row of rows) {
        const known = counts.get(row.cluster_id)
        if (known !== undefined) counts.set(row.cluster_id, { ...known, [field]: Number(row.count) })
      }
    }
    const [schedulers, seedPeers, hosts] = await Promise.all([
      this.db.selectFrom('schedulers').select((eb) => ['cluster_id', eb.fn.countAll<number | string>().as('count')])
        .where('cluster_id', 'in', ids).where('state', '=', 'active').groupBy('cluster_id').execute(),
      this.db.selectFrom('seed_peers').select((eb) => ['cluster_id', eb.fn.countAll<number | string>().as('count')])
        .where('cluster_id', 'in', ids).where('state', '=', 'active').groupBy('cluster_id').execute(),
      this.db.selectFrom('hosts').select((eb) => ['cluster_id', eb.fn.countAll<number | string>().as('count')])
        .where('cluster_id', 'in', ids).groupBy('cluster_id').execute(),
    ])
    grouped(schedulers, 'activeSchedulers')
    grouped(seedPeers, 'activeSeedPeers')
    grouped(hosts, 'hosts')
    return counts
  }

  async getScheduler(id: number): Promise<SchedulerRow | undefined> {
    return this.db.selectFrom('schedulers').selectAll().where('id', '=', id).executeTakeFirst()
  }

  async getSeedPeer(id: number): Promise<SeedPeerRow | undefined> {
    return this.db.selectFrom('seed_peers').selectAll().where('id', '=', id).executeTakeFirst()
  }

  /** Whether a row was there to delete. A member still running registers again at its next keepalive. */
  async deleteScheduler(id: number): Promise<boolean> {
    const result = await this.db.deleteFrom('schedulers').where('id', '=', id).executeTakeFirst()
    return Number(result.numDeletedRows) > 0
  }

  async deleteSeedPeer(id: number): Promise<boolean> {
    const result = await this.db.deleteFrom('seed_peers').where('id', '=', id).executeTakeFirst()
    return Number(result.numDeletedRows) > 0
  }
}
