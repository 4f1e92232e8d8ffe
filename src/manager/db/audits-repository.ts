import type { Clock } from '../../common/clock.js'
import type { ManagerDatabase } from './database.js'
import { insertReturningId } from './insert.js'
import type { Page, Paged } from './page.js'
import { ACTOR_TYPES, type ActorType, type AuditState } from './audit-kinds.js'

/** One audited request. It holds no body, no query string and no credential, by construction. */
export interface Audit {
  readonly id: number
  readonly actorType: ActorType
  readonly actorName: string
  readonly method: string
  readonly path: string
  readonly object: string
  readonly state: AuditState
  readonly statusCode: number
  readonly createdAtMs: number
}

export interface AuditFilter {
  readonly actorType?: ActorType
  readonly actorName?: string
  readonly object?: string
  readonly state?: AuditState
  readonly method?: string
  readonly sinceMs?: number
  readonly untilMs?: number
}

const MAX_PATH_CHARS = 1024
const MAX_NAME_CHARS = 255

/** The audit log: written on every change asked for, read with filters, newest first. */
export class AuditsRepository {
  constructor(private readonly components: { database: ManagerDatabase; clock: Clock }) {}

  private get db(): ManagerDatabase['db'] {
    return this.components.database.db
  }

  async record(entry: Omit<Audit, 'id' | 'createdAtMs'>): Promise<number> {
    return insertReturningId(this.components.database, 'audits', {
      actor_type: entry.actorType,
      actor_name: entry.actorName.slice(0, MAX_NAME_CHARS),
      method: entry.method,
      path: entry.path.slice(0, MAX_PATH_CHARS),
      object: entry.object,
      state: entry.state,
      status_code: entry.statusCode,
      created_at_ms: this.components.clock.nowMs(),
    })
  }

  async list(filter: AuditFilter, page: Page): Promise<Paged<Audit>> {
    let query = this.db.selectFrom('audits')
    if (filter.actorType !== undefined) query = query.where('actor_type', '=', filter.actorType)
    if (filter.actorName !== undefined) query = query.where('actor_name', '=', filter.actorName)
    if (filter.object !== undefined) query = query.where('object', '=', filter.object)
    if (filter.state !== undefined) query = query.where('state', '=', filter.state)
    if (filter.method !== undefined) query = query.where('method', '=', filter.method)
    if (filter.sinceMs !== undefined) query = query.where('created_at_ms', '>=', filter.sinceMs)
    if (filter.untilMs !== undefined) query = query.where('created_at_ms', '<', filter.untilMs)
    const rows = await query.selectAll().orderBy('id', 'desc').offset(page.offset).limit(page.limit).execute()
    const { total } = await query.select((eb) => eb.fn.countAll<number | string>().as('total')).executeTakeFirstOrThrow()
    return {
      total: Number(total),
      items: rows.map((row) => ({
        id: row.id,
        actorType: (ACTOR_TYPES as readonly string[]).includes(row.actor_type) ? row.actor_type as ActorType : 'anonymous',
        actorName: row.actor_name,
        method: row.method,
        path: row.path,
        object: row.object,
        state: row.state === 'success' ? 'success' : 'failure',
        statusCode: row.status_code,
        createdAtMs: row.created_at_ms,
      })),
    }
  }
}
