import type { Kysely, Migration } from 'kysely'
import type { DialectName } from '../database.js'
import { addId } from './columns.js'

/** Failed sign-ins, counted in the database so the rate limit holds across managers. */
export function signinFailures(dialect: DialectName): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await addId(db.schema.createTable('signin_failures'), dialect)
        .addColumn('key', 'varchar(320)', (c) => c.notNull())
        .addColumn('created_at_ms', 'bigint', (c) => c.notNull())
        .execute()
      await db.schema.createIndex('signin_failures_key_index').on('signin_failures').columns(['key', 'created_at_ms']).execute()
    },
  }
}
