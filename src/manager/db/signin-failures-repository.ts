import type { Clock } from '../../common/clock.js'
import type { ManagerDatabase } from './database.js'

/** Failed sign-ins per key within a sliding window, shared by every manager on the database. */
export class SigninFailuresRepository {
  constructor(private readonly components: { database: ManagerDatabase; clock: Clock }) {}

  private get db(): ManagerDatabase['db'] {
    return this.components.database.db
  }

  /** Failures recorded for each key since `sinceMs`. */
  async countSince(keys: readonly string[], sinceMs: number): Promise<Map<string, number>> {
    const rows = await this.db.selectFrom('signin_failures').select(['key', (eb) => eb.fn.countAll<number | string>().as('failures')])
      .where('key', 'in', keys).where('created_at_ms', '>', sinceMs).groupBy('key').execute()
    return new Map(rows.map((row) => [row.key, Number(row.failures)]))
  }

  /** Records a failure under each key, and forgets those keys' failures older than `forgetBeforeMs`. */
  async record(keys: readonly string[], forgetBeforeMs: number): Promise<void> {
    const now = this.components.clock.nowMs()
    await this.db.deleteFrom('signin_failures').where('key', 'in', keys).where('created_at_ms', '<=', forgetBeforeMs).execute()
    await this.db.insertInto('signin_failures').values(keys.map((key) => ({ key, created_at_ms: now }))).execute()
  }

  /** Forgets a key's failures: a user who signed in starts afresh. */
  async clear(key: string): Promise<void> {
    await this.db.deleteFrom('signin_failures').where('key', '=', key).execute()
  }
}
