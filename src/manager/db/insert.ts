import type { Insertable, Kysely } from 'kysely'
import type { ManagerDatabase } from './database.js'
import type { ManagerSchema } from './schema.js'

/** Tables whose primary key is the generated integer `id`. */
type TableWithId = { [T in keyof ManagerSchema]: ManagerSchema[T] extends { id: unknown } ? (ManagerSchema[T]['id'] extends string ? never : T) : never }[keyof ManagerSchema]

/** Inserts one row and answers its generated id: `RETURNING` where the dialect has it, the insert id on MySQL. */
export async function insertReturningId<T extends TableWithId>(database: ManagerDatabase, table: T, values: Insertable<ManagerSchema[T]>): Promise<number> {
  // Loosely typed inside: the signature already ties `values` to `table`.
  const db = database.db as unknown as Kysely<Record<string, { id: number }>>
  const insert = db.insertInto(table).values(values as unknown as { id: number })
  if (database.dialect === 'mysql') {
    const result = await insert.executeTakeFirstOrThrow()
    return Number(result.insertId)
  }
  const row = await insert.returning('id').executeTakeFirstOrThrow()
  return row.id
}

/** Whether a driver error is a unique-constraint violation, in each dialect's own code. */
export function isUniqueViolation(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code
  // SQLite: SQLITE_CONSTRAINT_UNIQUE or _PRIMARYKEY; PostgreSQL: 23505; MySQL: ER_DUP_ENTRY.
  return code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === '23505' || code === 'ER_DUP_ENTRY'
}
