import { sql } from 'kysely'
import type { Clock } from '../../common/clock.js'
import type { ManagerDatabase } from './database.js'
import { insertReturningId, isUniqueViolation } from './insert.js'
import { containsPattern, type Page, type Paged } from './page.js'
import type { HostRow } from './schema.js'

/** A host as a scheduler reports it. */
export interface ReportedHost {
  readonly hostId: string
  readonly hostname: string
  readonly ip: string
  readonly port: number
  readonly idc: string
  readonly location: string
  readonly version: string
  readonly os: string
  readonly type: 'normal' | 'seed'
}

export interface HostRecord extends ReportedHost {
  readonly clusterId: number
  readonly lastSeenAtMs: number
  readonly createdAtMs: number
  readonly updatedAtMs: number
}

function toRecord(row: HostRow): HostRecord {
  return {
    hostId: row.host_id,
    clusterId: row.cluster_id,
    hostname: row.hostname,
    ip: row.ip,
    port: row.port,
    idc: row.idc,
    location: row.location,
    version: row.version,
    os: row.os,
    type: row.type === 'seed' ? 'seed' : 'normal',
    lastSeenAtMs: row.last_seen_at_ms,
    createdAtMs: row.created_at_ms,
    updatedAtMs: row.updated_at_ms,
  }
}

/** How a listing of hosts narrows; every field is optional and they combine with AND. */
export interface HostFilter {
  readonly clusterId?: number
  /** `normal` or `seed`. */
  readonly type?: string
  readonly version?: string
  readonly idc?: string
  readonly location?: string
  /** A substring of the hostname. */
  readonly hostname?: string
  /** A substring of the address. */
  readonly ip?: string
}

/** Hosts the schedulers report, one row per host id, last report wins; listed with filters for the REST API. */
export class HostsRepository {
  constructor(private readonly components: { database: ManagerDatabase; clock: Clock }) {}

  private get db(): ManagerDatabase['db'] {
    return this.components.database.db
  }

  /** Records what a scheduler of `clusterId` reported: each host is seen now. Safe to repeat. */
  async report(clusterId: number, hosts: readonly ReportedHost[]): Promise<void> {
    const now = this.components.clock.nowMs()
    for (const host of hosts) {
      const changes = {
        cluster_id: clusterId,
        hostname: host.hostname,
        ip: host.ip,
        port: host.port,
        idc: host.idc,
        location: host.location,
        version: host.version,
        os: host.os,
        type: host.type,
        last_seen_at_ms: now,
        updated_at_ms: now,
      }
      const update = async (): Promise<boolean> =>
        (await this.db.updateTable('hosts').set(changes).where('host_id', '=', host.hostId).executeTakeFirst()).numUpdatedRows > 0n
      if (await update()) continue
      try {
        await insertReturningId(this.components.database, 'hosts', { host_id: host.hostId, ...changes, created_at_ms: now })
      } catch (error) {
        // Two schedulers reported the host at once: the other's row is the one to refresh.
        if (!isUniqueViolation(error) || !(await update())) throw error
      }
    }
  }

  /** Hosts of a cluster seen within `withinMs` (all when undefined), by host id. */
  async list(clusterId: number, withinMs?: number): Promise<HostRecord[]> {
    let query = this.db.selectFrom('hosts').selectAll().where('cluster_id', '=', clusterId)
    if (withinMs !== undefined) query = query.where('last_seen_at_ms', '>=', this.components.clock.nowMs() - withinMs)
    return (await query.orderBy('host_id').execute()).map(toRecord)
  }

  /** A page of hosts that match `filter`, by id: the REST API's listing. */
  async search(filter: HostFilter, page: Page): Promise<Paged<HostRow>> {
    let query = this.db.selectFrom('hosts')
    if (filter.clusterId !== undefined) query = query.where('cluster_id', '=', filter.clusterId)
    if (filter.type !== undefined) query = query.where('type', '=', filter.type)
    if (filter.version !== undefined) query = query.where('version', '=', filter.version)
    if (filter.idc !== undefined) query = query.where('idc', '=', filter.idc)
    if (filter.location !== undefined) query = query.where('location', '=', filter.location)
    if (filter.hostname !== undefined) query = query.where(sql<boolean>`hostname like ${containsPattern(filter.hostname)} escape '!'`)
    if (filter.ip !== undefined) query = query.where(sql<boolean>`ip like ${containsPattern(filter.ip)} escape '!'`)
    const items = await query.selectAll().orderBy('id').offset(page.offset).limit(page.limit).execute()
    const { total } = await query.select((eb) => eb.fn.countAll<number | string>().as('total')).executeTakeFirstOrThrow()
    return { items, total: Number(total) }
  }

  /** How many hosts run each version, most common first, then by version; '' for hosts that did not say. */
  async versions(filter: { readonly clusterId?: number; readonly type?: string }): Promise<Array<{ version: string; count: number }>> {
    let query = this.db.selectFrom('hosts')
    if (filter.clusterId !== undefined) query = query.where('cluster_id', '=', filter.clusterId)
    if (filter.type !== undefined) query = query.where('type', '=', filter.type)
    const rows = await query.select((eb) => ['version', eb.fn.countAll<number | string>().as('count')]).groupBy('version').execute()
    return rows.map((row) => ({ version: row.version, count: Number(row.count) }))
      .sort((a, b) => b.count - a.count || (a.version < b.version ? -1 : a.version > b.version ? 1 : 0))
  }

  async get(id: number): Promise<HostRow | undefined> {
    return this.db.selectFrom('hosts').selectAll().where('id', '=', id).executeTakeFirst()
  }
}
