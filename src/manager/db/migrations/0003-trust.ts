import type { Kysely, Migration } from 'kysely'

/**
 * The cluster CA the manager holds, the join tokens it redeems, the certificates it issued and
 * the hosts it revoked. Several managers share them through the database.
 */
export function trust(): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema.createTable('cluster_ca')
        .addColumn('id', 'integer', (c) => c.primaryKey())
        .addColumn('cert_pem', 'text', (c) => c.notNull())
        .addColumn('key_pem', 'text', (c) => c.notNull())
        .addColumn('created_at_ms', 'bigint', (c) => c.notNull())
        .execute()

      await db.schema.createTable('join_tokens')
        .addColumn('id', 'varchar(16)', (c) => c.primaryKey())
        .addColumn('secret_sha256', 'varchar(64)', (c) => c.notNull())
        .addColumn('role', 'varchar(16)', (c) => c.notNull())
        .addColumn('cluster_id', 'integer', (c) => c.notNull())
        .addColumn('uses_left', 'integer')
        .addColumn('expires_at_ms', 'bigint', (c) => c.notNull())
        .addColumn('created_by', 'varchar(255)', (c) => c.notNull())
        .addColumn('created_at_ms', 'bigint', (c) => c.notNull())
        .execute()

      await db.schema.createTable('certificates')
        .addColumn('host_id', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('role', 'varchar(16)', (c) => c.notNull())
        .addColumn('cluster_id', 'integer', (c) => c.notNull())
        .addColumn('hostname', 'varchar(255)', (c) => c.notNull())
        .addColumn('ips', 'varchar(1024)', (c) => c.notNull())
        .addColumn('not_after_ms', 'bigint', (c) => c.notNull())
        .addColumn('issued_at_ms', 'bigint', (c) => c.notNull())
        .addColumn('revoked_at_ms', 'bigint')
        .addColumn('revoked_by', 'varchar(255)')
        .execute()
      await db.schema.createIndex('certificates_revoked_index').on('certificates').column('revoked_at_ms').execute()
    },
  }
}
