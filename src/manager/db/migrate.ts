import { Migrator, type Migration } from 'kysely'
import { DamselflyError } from '../../protocol/damselfly-error.js'
import type { DialectName, ManagerDatabase } from './database.js'
import { initial } from './migrations/0001-initial.js'
import { signinFailures } from './migrations/0002-signin-failures.js'
import { trust } from './migrations/0003-trust.js'
import { jobs } from './migrations/0004-jobs.js'

/**
 * Every migration, in order; names sort in the order they run. A migration once released is
 * never edited: a change to the schema is a new one.
 */
function migrations(dialect: DialectName): Record<string, Migration> {
  return {
    '0001-initial': initial(dialect),
    '0002-signin-failures': signinFailures(dialect),
    '0003-trust': trust(),
    '0004-jobs': jobs(dialect),
  }
}

/**
 * Brings the schema to the latest version. Safe with several managers starting at once: Kysely
 * holds a lock table while it migrates, and a migration that ran is not run again.
 */
export async function migrateToLatest(database: ManagerDatabase): Promise<string[]> {
  const migrator = new Migrator({
    db: database.db,
    provider: { getMigrations: () => Promise.resolve(migrations(database.dialect)) },
  })
  const { error, results = [] } = await migrator.migrateToLatest()
  const failed = results.find((result) => result.status === 'Error')
  if (error !== undefined) {
    throw new DamselflyError('INTERNAL', `database migration ${failed?.migrationName ?? ''} failed on ${database.description}: ${error instanceof Error ? error.message : JSON.stringify(error)}`, { cause: error })
  }
  return results.filter((result) => result.status === 'Success').map((result) => result.migrationName)
}
