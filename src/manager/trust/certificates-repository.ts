import type { Clock } from '../../common/clock.js'
import { DamselflyError } from '../../protocol/damselfly-error.js'
import type { HostIdentity } from '../../security/identity.js'
import type { ManagerDatabase } from '../db/database.js'
import type { Page, Paged } from '../db/page.js'

export interface IssuedCertificate {
  readonly hostId: string
  readonly role: string
  readonly clusterId: number
  readonly hostname: string
  readonly ips: readonly string[]
  readonly notAfterMs: number
  readonly issuedAtMs: number
  readonly revokedAtMs: number | null
  readonly revokedBy: string | null
}

/**
 * The latest certificate the manager issued each host, and the hosts it revoked. Revocation is
 * by host id (the hash of the host's key), so it covers every certificate of that key, renewed or not.
 */
export class CertificatesRepository {
  constructor(private readonly components: { database: ManagerDatabase; clock: Clock }) {}

  /** Records a certificate just issued; a revoked host stays revoked. */
  async record(issued: { identity: HostIdentity; clusterId: number; notAfterMs: number }): Promise<void> {
    const { db } = this.components.database
    const values = {
      role: issued.identity.role,
      cluster_id: issued.clusterId,
      hostname: issued.identity.hostname,
      ips: JSON.stringify(issued.identity.ips),
      not_after_ms: issued.notAfterMs,
      issued_at_ms: this.components.clock.nowMs(),
    }
    const updated = await db.updateTable('certificates').set(values).where('host_id', '=', issued.identity.hostId).executeTakeFirst()
    if (Number(updated.numUpdatedRows) > 0) return
    await db.insertInto('certificates').values({ host_id: issued.identity.hostId, ...values, revoked_at_ms: null, revoked_by: null }).execute()
  }

  async get(hostId: string): Promise<IssuedCertificate | undefined> {
    const row = await this.components.database.db.selectFrom('certificates').selectAll().where('host_id', '=', hostId).executeTakeFirst()
    return row === undefined ? undefined : toIssued(row)
  }

  /** Newest first; `revoked` narrows to revoked hosts (true) or hosts in good standing (false). */
  async list(filter: { revoked?: boolean }, page: Page): Promise<Paged<IssuedCertificate>> {
    const { db } = this.components.database
    let query = db.selectFrom('certificates')
    if (filter.revoked !== undefined) query = query.where('revoked_at_ms', filter.revoked ? 'is not' : 'is', null)
    const rows = await query.selectAll().orderBy('issued_at_ms', 'desc').orderBy('host_id').offset(page.offset).limit(page.limit).execute()
    const { total } = await query.select((eb) => eb.fn.countAll<number>().as('total')).executeTakeFirstOrThrow()
    return { items: rows.map(toIssued), total }
  }

  /** Revokes a host the manager certified: from now on nobody in the cluster talks to it. */
  async revoke(hostId: string, revokedBy: string): Promise<IssuedCertificate> {
    const { db } = this.components.database
    const current = await this.get(hostId)
    if (current === undefined) throw new DamselflyError('NOT_FOUND', `no certificate issued to host ${hostId}`)
    if (current.revokedAtMs !== null) return current
    await db.updateTable('certificates').set({ revoked_at_ms: this.components.clock.nowMs(), revoked_by: revokedBy }).where('host_id', '=', hostId).execute()
    return (await this.get(hostId)) ?? current
  }

  async isRevoked(hostId: string): Promise<boolean> {
    const row = await this.components.database.db.selectFrom('certificates').select('revoked_at_ms').where('host_id', '=', hostId).executeTakeFirst()
    return row?.revoked_at_ms !== null && row?.revoked_at_ms !== undefined
  }

  /** Every revoked host id whose last certificate may still be valid; an expired one needs no list. */
  async revokedHostIds(): Promise<string[]> {
    const rows = await this.components.database.db.selectFrom('certificates').select('host_id')
      .where('revoked_at_ms', 'is not', null).where('not_after_ms', '>', this.components.clock.nowMs()).orderBy('host_id').execute()
    return rows.map((row) => row.host_id)
  }
}

function toIssued(row: { host_id: string; role: string; cluster_id: number; hostname: string; ips: string; not_after_ms: number; issued_at_ms: number; revoked_at_ms: number | null; revoked_by: string | null }): IssuedCertificate {
  return {
    hostId: row.host_id,
    role: row.role,
    clusterId: row.cluster_id,
    hostname: row.hostname,
    ips: JSON.parse(row.ips) as string[],
    notAfterMs: row.not_after_ms,
    issuedAtMs: row.issued_at_ms,
    revokedAtMs: row.revoked_at_ms,
    revokedBy: row.revoked_by,
  }
}
