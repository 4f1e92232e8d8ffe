import { mkdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import SqliteDatabase from 'better-sqlite3'
import { Kysely, MysqlDialect, PostgresDialect, SqliteDialect, type Dialect, type SqliteDatabase as KyselySqliteDatabase } from 'kysely'
import { LRUCache } from 'lru-cache'
import { createPool as createMysqlPool } from 'mysql2'
import pg from 'pg'
import { DamselflyError } from '../../protocol/damselfly-error.js'
import type { ManagerSchema } from './schema.js'

/** The SQL dialects the manager runs on. */
export type DialectName = 'sqlite' | 'postgres' | 'mysql'

/** An open database: Kysely over one connection pool, and which dialect it speaks. */
export interface ManagerDatabase {
  readonly db: Kysely<ManagerSchema>
  readonly dialect: DialectName
  /** The URL with any password masked, for logs. */
  readonly description: string
  close(): Promise<void>
}

/** Where a URL points and in which dialect; '' is SQLite in the data directory. */
export function parseDatabaseUrl(url: string, dataDir: string): { dialect: DialectName; location: string } {
  if (url === '') return { dialect: 'sqlite', location: join(dataDir, 'manager.db') }
  const scheme = /^([a-z0-9+]+):/i.exec(url)?.[1]?.toLowerCase()
  switch (scheme) {
    case 'sqlite':
    case 'file': {
      const path = url.replace(/^[a-z]+:(\/\/)?/i, '')
      if (path === '') throw new DamselflyError('CONFIG_INVALID', `database.url ${JSON.stringify(url)} names no file`)
      return { dialect: 'sqlite', location: path }
    }
    case 'postgres':
    case 'postgresql':
      return { dialect: 'postgres', location: url }
    case 'mysql':
    case 'mariadb':
      return { dialect: 'mysql', location: url.replace(/^mariadb:/i, 'mysql:') }
    default:
      throw new DamselflyError('CONFIG_INVALID', `database.url must start with sqlite:, postgres:// or mysql://, got ${JSON.stringify(maskPassword(url))}`)
  }
}

/** The URL with its password replaced by `***`. */
export function maskPassword(url: string): string {
  return url.replace(/^([a-z0-9+]+:\/\/[^:/@]*:)[^@]*@/i, '$1***@')
}

/** pg's type parsers, but BIGINT (counts, `..._at_ms`, well inside 2^53) read as a number rather than text. */
function int8AsNumber(): pg.CustomTypesConfig {
  const types = new pg.TypeOverrides()
  types.setTypeParser(pg.types.builtins.INT8, Number)
  return types
}

/** Distinct SQL texts whose prepared statements are kept: the manager's queries are a few dozen shapes. */
const PREPARED_STATEMENTS = 256

/**
 * better-sqlite3 for Kysely, with each statement prepared once: Kysely prepares the SQL of every
 * query anew, which cost the manager about as much CPU as running the query.
 */
function withStatementCache(database: SqliteDatabase.Database): KyselySqliteDatabase {
  const statements = new LRUCache<string, SqliteDatabase.Statement>({ max: PREPARED_STATEMENTS })
  return {
    prepare: (sql) => {
      let statement = statements.get(sql)
      if (statement === undefined) {
        statement = database.prepare(sql)
        statements.set(sql, statement)
      }
      return statement
    },
    close: () => {
      statements.clear()
      database.close()
    },
  }
}

function dialectFor(dialect: DialectName, location: string): Dialect {
  switch (dialect) {
    case 'sqlite': {
      if (location !== ':memory:') mkdirSync(dirname(location), { recursive: true, mode: 0o700 })
      const database = new SqliteDatabase(location)
      database.pragma('journal_mode = WAL')
      database.pragma('busy_timeout = 5000')
      database.pragma('foreign_keys = ON')
      return new SqliteDialect({ database: withStatementCache(database) })
    }
    case 'postgres':
      return new PostgresDialect({
        pool: new pg.Pool({
          connectionString: location,
          max: 10,
          types: int8AsNumber(),
        }),
      })
    case 'mysql':
      return new MysqlDialect({ pool: createMysqlPool({ uri: location, connectionLimit: 10, supportBigNumbers: true, bigNumberStrings: false, timezone: 'Z' }) })
  }
}

/**
 * Opens the database `url` names ('' for SQLite at `<dataDir>/manager.db`). Nothing is read or
 * written until the first query; run the migrations before that.
 */
export function openDatabase(url: string, dataDir: string): ManagerDatabase {
  const { dialect, location } = parseDatabaseUrl(url, dataDir)
  const db = new Kysely<ManagerSchema>({ dialect: dialectFor(dialect, location) })
  return {
    db,
    dialect,
    description: dialect === 'sqlite' ? `sqlite:${location}` : maskPassword(location),
    close: () => db.destroy(),
  }
}
