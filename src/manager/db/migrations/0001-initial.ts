import type { Kysely, Migration } from 'kysely'
import type { DialectName } from '../database.js'
import { addId, type Table } from './columns.js'

/** Name and bio of a resource, and when it was made and last changed. */
function named(table: Table, nameLength = 255): Table {
  return table
    .addColumn('name', `varchar(${nameLength})`, (c) => c.notNull())
    .addColumn('created_at_ms', 'bigint', (c) => c.notNull())
    .addColumn('updated_at_ms', 'bigint', (c) => c.notNull())
}

/** Clusters, their members and hosts; users, roles, sessions, tokens and the audit log. */
export function initial(dialect: DialectName): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await named(addId(db.schema.createTable('clusters'), dialect))
        .addColumn('bio', 'text', (c) => c.notNull())
        .addColumn('scopes', 'text', (c) => c.notNull())
        .addColumn('config', 'text', (c) => c.notNull())
        .addColumn('is_default', 'integer', (c) => c.notNull().defaultTo(0))
        .addUniqueConstraint('clusters_name_unique', ['name'])
        .execute()

      for (const members of ['schedulers', 'seed_peers'] as const) {
        let table = addId(db.schema.createTable(members), dialect)
          .addColumn('cluster_id', 'integer', (c) => c.notNull())
          .addColumn('hostname', 'varchar(255)', (c) => c.notNull())
          .addColumn('ip', 'varchar(64)', (c) => c.notNull())
          .addColumn('port', 'integer', (c) => c.notNull())
          .addColumn('idc', 'varchar(255)', (c) => c.notNull().defaultTo(''))
          .addColumn('location', 'varchar(255)', (c) => c.notNull().defaultTo(''))
          .addColumn('host_id', 'varchar(128)', (c) => c.notNull().defaultTo(''))
          .addColumn('state', 'varchar(16)', (c) => c.notNull())
          .addColumn('last_keepalive_at_ms', 'bigint', (c) => c.notNull())
          .addColumn('created_at_ms', 'bigint', (c) => c.notNull())
          .addColumn('updated_at_ms', 'bigint', (c) => c.notNull())
          .addUniqueConstraint(`${members}_member_unique`, ['cluster_id', 'hostname', 'ip'])
        table = members === 'schedulers'
          ? table.addColumn('features', 'text', (c) => c.notNull())
          : table.addColumn('type', 'varchar(16)', (c) => c.notNull())
        await table.execute()
        await db.schema.createIndex(`${members}_state_index`).on(members).columns(['cluster_id', 'state']).execute()
      }

      await addId(db.schema.createTable('hosts'), dialect)
        .addColumn('host_id', 'varchar(128)', (c) => c.notNull())
        .addColumn('cluster_id', 'integer', (c) => c.notNull())
        .addColumn('hostname', 'varchar(255)', (c) => c.notNull())
        .addColumn('ip', 'varchar(64)', (c) => c.notNull())
        .addColumn('port', 'integer', (c) => c.notNull())
        .addColumn('idc', 'varchar(255)', (c) => c.notNull().defaultTo(''))
        .addColumn('location', 'varchar(255)', (c) => c.notNull().defaultTo(''))
        .addColumn('version', 'varchar(64)', (c) => c.notNull().defaultTo(''))
        .addColumn('os', 'varchar(64)', (c) => c.notNull().defaultTo(''))
        .addColumn('type', 'varchar(16)', (c) => c.notNull())
        .addColumn('last_seen_at_ms', 'bigint', (c) => c.notNull())
        .addColumn('created_at_ms', 'bigint', (c) => c.notNull())
        .addColumn('updated_at_ms', 'bigint', (c) => c.notNull())
        .addUniqueConstraint('hosts_host_id_unique', ['host_id'])
        .execute()
      await db.schema.createIndex('hosts_last_seen_index').on('hosts').columns(['cluster_id', 'last_seen_at_ms']).execute()

      await named(addId(db.schema.createTable('users'), dialect))
        .addColumn('email', 'varchar(255)', (c) => c.notNull().defaultTo(''))
        .addColumn('password_hash', 'varchar(255)', (c) => c.notNull())
        .addColumn('state', 'varchar(16)', (c) => c.notNull())
        .addColumn('must_change_password', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('last_signin_at_ms', 'bigint')
        .addUniqueConstraint('users_name_unique', ['name'])
        .execute()

      await named(addId(db.schema.createTable('roles'), dialect), 64)
        .addColumn('description', 'varchar(1024)', (c) => c.notNull().defaultTo(''))
        .addColumn('builtin', 'integer', (c) => c.notNull().defaultTo(0))
        .addUniqueConstraint('roles_name_unique', ['name'])
        .execute()

      await db.schema.createTable('role_permissions')
        .addColumn('role_id', 'integer', (c) => c.notNull())
        .addColumn('object', 'varchar(64)', (c) => c.notNull())
        .addColumn('action', 'varchar(16)', (c) => c.notNull())
        .addPrimaryKeyConstraint('role_permissions_pk', ['role_id', 'object', 'action'])
        .execute()

      await db.schema.createTable('user_roles')
        .addColumn('user_id', 'integer', (c) => c.notNull())
        .addColumn('role_id', 'integer', (c) => c.notNull())
        .addPrimaryKeyConstraint('user_roles_pk', ['user_id', 'role_id'])
        .execute()

      await db.schema.createTable('sessions')
        .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('user_id', 'integer', (c) => c.notNull())
        .addColumn('expires_at_ms', 'bigint', (c) => c.notNull())
        .addColumn('created_at_ms', 'bigint', (c) => c.notNull())
        .execute()
      await db.schema.createIndex('sessions_user_index').on('sessions').column('user_id').execute()

      await named(addId(db.schema.createTable('personal_access_tokens'), dialect))
        .addColumn('bio', 'text', (c) => c.notNull())
        .addColumn('token_hash', 'varchar(64)', (c) => c.notNull())
        .addColumn('scopes', 'varchar(255)', (c) => c.notNull())
        .addColumn('state', 'varchar(16)', (c) => c.notNull())
        .addColumn('expires_at_ms', 'bigint', (c) => c.notNull())
        .addColumn('user_id', 'integer', (c) => c.notNull())
        .addColumn('last_used_at_ms', 'bigint')
        .addUniqueConstraint('personal_access_tokens_hash_unique', ['token_hash'])
        .execute()

      await addId(db.schema.createTable('audits'), dialect)
        .addColumn('actor_type', 'varchar(16)', (c) => c.notNull())
        .addColumn('actor_name', 'varchar(255)', (c) => c.notNull())
        .addColumn('method', 'varchar(8)', (c) => c.notNull())
        .addColumn('path', 'varchar(1024)', (c) => c.notNull())
        .addColumn('object', 'varchar(64)', (c) => c.notNull())
        .addColumn('state', 'varchar(16)', (c) => c.notNull())
        .addColumn('status_code', 'integer', (c) => c.notNull())
        .addColumn('created_at_ms', 'bigint', (c) => c.notNull())
        .execute()
      await db.schema.createIndex('audits_created_index').on('audits').column('created_at_ms').execute()
    },
  }
}
