import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { sql } from 'kysely'
import { openDatabase, type DialectName, type ManagerDatabase } from './database.js'
import { migrateToLatest } from './migrate.js'

/** Every dialect the manager runs on; the API suite runs against each. */
export const TEST_DIALECTS = ['sqlite', 'postgres', 'mysql'] as const satisfies readonly DialectName[]

/** The servers of this machine (and CI's); a test makes its own database on them and drops it. */
const SERVER_URLS = {
  postgres: process.env.DAMSELFLY_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
  mysql: process.env.DAMSELFLY_TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/',
} as const

/** A database of a test's own, migrated, and the URL a manager process would be given for it. */
export interface TestDatabase {
  readonly dialect: DialectName
  readonly url: string
  readonly database: ManagerDatabase
  /** Closes the pool and drops the database (or deletes the SQLite file). */
  drop(): Promise<void>
}

function withDatabaseName(serverUrl: string, name: string): string {
  const url = new URL(serverUrl)
  url.pathname = `/${name}`
  return url.toString()
}

async function onServer(dialect: 'postgres' | 'mysql', statement: string): Promise<void> {
  const admin = openDatabase(SERVER_URLS[dialect], tmpdir())
  try {
    await sql.raw(statement).execute(admin.db)
  } finally {
    await admin.close()
  }
}

/**
 * Waits until PostgreSQL has let go of every connection to `name`. pg's pool resolves `end()`
 * before the server closed its sockets; a forced drop meanwhile sends the closing clients an
 * error nobody listens to any more, and the test that happens to run then fails on it.
 */
async function untilDisconnected(name: string, timeoutMs = 5000): Promise<void> {
  const admin = openDatabase(SERVER_URLS.postgres, tmpdir())
  try {
    const deadline = Date.now() + timeoutMs
    while (Date.now() < deadline) {
      const { rows } = await sql<{ n: number }>`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = ${name}`.execute(admin.db)
      if ((rows[0]?.n ?? 0) === 0) return
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
  } finally {
    await admin.close()
  }
}

/** Makes a fresh, migrated database in `dialect`; `drop()` it in `after`. */
export async function createTestDatabase(dialect: DialectName): Promise<TestDatabase> {
  if (dialect === 'sqlite') {
    const dir = await mkdtemp(join(tmpdir(), 'damselfly-manager-db-'))
    const url = `sqlite:${join(dir, 'manager.db')}`
    const database = openDatabase(url, dir)
    await migrateToLatest(database)
    return { dialect, url, database, drop: async () => { await database.close(); await rm(dir, { recursive: true, force: true }) } }
  }
  const name = `damselfly_test_${randomBytes(6).toString('hex')}`
  await onServer(dialect, `CREATE DATABASE ${name}`)
  const url = withDatabaseName(SERVER_URLS[dialect], name)
  const database = openDatabase(url, tmpdir())
  await migrateToLatest(database)
  return {
    dialect,
    url,
    database,
    drop: async () => {
      await database.close()
      if (dialect === 'postgres') await untilDisconnected(name)
      await onServer(dialect, dialect === 'postgres' ? `DROP DATABASE IF EXISTS ${name} WITH (FORCE)` : `DROP DATABASE IF EXISTS ${name}`)
    },
  }
}
