import type { Clock } from '../../common/clock.js'
import type { ManagerDatabase } from './database.js'
import { insertReturningId, isUniqueViolation } from './insert.js'
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

/** Hosts the schedulers report, one row per host id, last report wins. */
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
}
