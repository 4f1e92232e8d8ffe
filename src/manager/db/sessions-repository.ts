import type { Clock } from '../../common/clock.js'
import type { ManagerDatabase } from './database.js'

/**
 * Console and script sessions, as rows rather than process memory: several managers share one
 * database, and a sign-out or a disabled user must end a session on all of them. A row holds
 * the sha256 of the token only.
 */
export class SessionsRepository {
  constructor(private readonly components: { database: ManagerDatabase; clock: Clock }) {}

  private get db(): ManagerDatabase['db'] {
    return this.components.database.db
  }

  /** Records a session and drops the user's expired ones, so the table does not grow forever. */
  async create(tokenHash: string, userId: number, expiresAtMs: number): Promise<void> {
    const now = this.components.clock.nowMs()
    await this.db.deleteFrom('sessions').where('user_id', '=', userId).where('expires_at_ms', '<=', now).execute()
    await this.db.insertInto('sessions').values({ id: tokenHash, user_id: userId, expires_at_ms: expiresAtMs, created_at_ms: now }).execute()
  }

  /** The user of a session that has not expired. */
  async userOf(tokenHash: string): Promise<number | undefined> {
    const row = await this.db.selectFrom('sessions').select(['user_id', 'expires_at_ms']).where('id', '=', tokenHash).executeTakeFirst()
    if (row === undefined || row.expires_at_ms <= this.components.clock.nowMs()) return undefined
    return row.user_id
  }

  async delete(tokenHash: string): Promise<void> {
    await this.db.deleteFrom('sessions').where('id', '=', tokenHash).execute()
  }

  /** Ends every session of a user but `keepHash` (the one asking, when a user changes their own password). */
  async deleteForUser(userId: number, keepHash?: string): Promise<void> {
    let query = this.db.deleteFrom('sessions').where('user_id', '=', userId)
    if (keepHash !== undefined) query = query.where('id', '!=', keepHash)
    await query.execute()
  }
}
