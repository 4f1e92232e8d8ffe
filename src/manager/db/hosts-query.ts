import { sql } from 'kysely'
import type { ManagerDatabase } from './database.js'
import { containsPattern, type Page, type Paged } from './page.js'
import type { HostRow } from './schema.js'

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

/** Reads the hosts schedulers report; the gRPC side writes them. */
export class HostsQuery {
  constructor(private readonly components: { database: ManagerDatabase }) {}

  private get db(): ManagerDatabase['db'] {
    return this.components.database.db
  }

  async list(filter: HostFilter, page: Page): Promise<Paged<HostRow>> {
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

  async get(id: number): Promise<HostRow | undefined> {
    return this.db.selectFrom('hosts').selectAll().where('id', '=', id).executeTakeFirst()
  }
}
