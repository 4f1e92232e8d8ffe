import type { CreateTableBuilder } from 'kysely'
import type { DialectName } from '../database.js'

export type Table = CreateTableBuilder<string, string>

/** An auto-increment integer primary key `id`, in each dialect's own words. */
export function addId(table: CreateTableBuilder<string>, dialect: DialectName): Table {
  const builder = table as Table
  return dialect === 'postgres'
    ? builder.addColumn('id', 'serial', (c) => c.primaryKey())
    : builder.addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
}
