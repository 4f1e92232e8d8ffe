import type { Kysely, Selectable } from 'kysely'
import type { Clock } from '../../common/clock.js'
import type { ManagerDatabase } from './database.js'
import { insertReturningId, isUniqueViolation } from './insert.js'
import type { MemberState, SchedulersTable } from './schema.js'

/** The columns schedulers and seed peers share. */
type MemberColumns = Omit<SchedulersTable, 'features'>
type MemberRow = Selectable<MemberColumns>

/** Which member a keepalive names: Dragonfly's key of a member, its cluster, hostname and address. */
export interface MemberKey {
  readonly clusterId: number
  readonly hostname: string
  readonly ip: string
}

/** What schedulers and seed peers both register with. */
export interface MemberRegistration extends MemberKey {
  readonly port: number
  readonly idc: string
  readonly location: string
  readonly hostId: string
}

/** What schedulers and seed peers both are to the manager. */
export interface MemberRecord extends MemberRegistration {
  readonly id: number
  readonly state: MemberState
  readonly lastKeepaliveAtMs: number
  readonly createdAtMs: number
  readonly updatedAtMs: number
}

export function toMemberRecord(row: MemberRow): MemberRecord {
  return {
    id: row.id,
    clusterId: row.cluster_id,
    hostname: row.hostname,
    ip: row.ip,
    port: row.port,
    idc: row.idc,
    location: row.location,
    hostId: row.host_id,
    state: row.state,
    lastKeepaliveAtMs: row.last_keepalive_at_ms,
    createdAtMs: row.created_at_ms,
    updatedAtMs: row.updated_at_ms,
  }
}

/**
 * Registration and liveness of one kind of cluster member (schedulers, seed peers). Liveness is
 * computed from `last_keepalive_at_ms` in each query, not read from `state`, so every manager
 * sharing the database agrees at once; `state` follows, by `sweep`, for display.
 */
export abstract class MembersRepository<Registration extends MemberRegistration, Record extends MemberRecord, Row extends MemberRow> {
  constructor(
    protected readonly components: { database: ManagerDatabase; clock: Clock },
    private readonly table: 'schedulers' | 'seed_peers',
  ) {}

  protected abstract toRecord(row: Row): Record
  /** The columns only this kind of member has, as stored. */
  protected abstract ownColumns(input: Registration): { features: string } | { type: string }

  /** Both tables through their shared columns: the subclasses tie each table to its row type. */
  private get db(): Kysely<{ members: MemberColumns }> {
    return this.components.database.db as unknown as Kysely<{ members: MemberColumns }>
  }

  private get members(): 'members' {
    return this.table as unknown as 'members'
  }

  /** Creates the member or refreshes its record (same cluster, hostname and address); it is active from now. Safe to repeat. */
  async register(input: Registration): Promise<Record> {
    const now = this.components.clock.nowMs()
    const changes = {
      port: input.port,
      idc: input.idc,
      location: input.location,
      host_id: input.hostId,
      state: 'active' as const,
      last_keepalive_at_ms: now,
      updated_at_ms: now,
      ...this.ownColumns(input),
    }
    const update = async (): Promise<boolean> => {
      const result = await this.db.updateTable(this.members).set(changes)
        .where('cluster_id', '=', input.clusterId).where('hostname', '=', input.hostname).where('ip', '=', input.ip)
        .executeTakeFirst()
      return result.numUpdatedRows > 0n
    }
    if (!(await update())) {
      try {
        const row = { cluster_id: input.clusterId, hostname: input.hostname, ip: input.ip, ...changes, created_at_ms: now }
        await insertReturningId(this.components.database, this.table, row as never)
      } catch (error) {
        // Another manager registered it a moment ago: refresh that row instead.
        if (!isUniqueViolation(error) || !(await update())) throw error
      }
    }
    const record = await this.find(input)
    if (record === undefined) throw new Error(`${this.table} ${input.hostname} ${input.ip} vanished while registering`)
    return record
  }

  async find(key: MemberKey): Promise<Record | undefined> {
    const row = await this.db.selectFrom(this.members).selectAll()
      .where('cluster_id', '=', key.clusterId).where('hostname', '=', key.hostname).where('ip', '=', key.ip)
      .executeTakeFirst()
    return row === undefined ? undefined : this.toRecord(row as Row)
  }

  /** Records a keepalive; false when no such member is registered (it should register again). */
  async keepAlive(key: MemberKey): Promise<boolean> {
    const now = this.components.clock.nowMs()
    const result = await this.db.updateTable(this.members).set({ state: 'active', last_keepalive_at_ms: now, updated_at_ms: now })
      .where('cluster_id', '=', key.clusterId).where('hostname', '=', key.hostname).where('ip', '=', key.ip)
      .executeTakeFirst()
    return result.numUpdatedRows > 0n
  }

  /** The members of a cluster (of every cluster when undefined) that kept alive within `timeoutMs`, by id. */
  async listAlive(clusterId: number | undefined, timeoutMs: number): Promise<Record[]> {
    const since = this.components.clock.nowMs() - timeoutMs
    let query = this.db.selectFrom(this.members).selectAll().where('last_keepalive_at_ms', '>=', since)
    if (clusterId !== undefined) query = query.where('cluster_id', '=', clusterId)
    const rows = await query.orderBy('id').execute()
    return rows.map((row) => this.toRecord(row as Row))
  }

  /** How many members of every cluster kept alive within `timeoutMs`. */
  async countAlive(timeoutMs: number): Promise<number> {
    const since = this.components.clock.nowMs() - timeoutMs
    const { alive } = await this.db.selectFrom(this.members).select((eb) => eb.fn.countAll<number | string>().as('alive'))
      .where('last_keepalive_at_ms', '>=', since).executeTakeFirstOrThrow()
    return Number(alive)
  }

  /** Every member, alive or not, of one cluster or of all, by id. */
  async list(clusterId?: number): Promise<Record[]> {
    let query = this.db.selectFrom(this.members).selectAll()
    if (clusterId !== undefined) query = query.where('cluster_id', '=', clusterId)
    return (await query.orderBy('id').execute()).map((row) => this.toRecord(row as Row))
  }

  /** Marks inactive the members silent for `timeoutMs`; answers how many changed. */
  async sweep(timeoutMs: number): Promise<number> {
    const since = this.components.clock.nowMs() - timeoutMs
    const result = await this.db.updateTable(this.members).set({ state: 'inactive' })
      .where('state', '=', 'active').where('last_keepalive_at_ms', '<', since)
      .executeTakeFirst()
    return Number(result.numUpdatedRows)
  }
}
