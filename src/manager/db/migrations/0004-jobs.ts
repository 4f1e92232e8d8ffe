import type { Kysely, Migration } from 'kysely'
import type { DialectName } from '../database.js'
import { addId } from './columns.js'

/**
 * Jobs (preheat, distribution, get_task, delete_task), each host's progress and outcome in them,
 * and the key that seals the credentials a job keeps until it is deleted.
 */
export function jobs(dialect: DialectName): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await addId(db.schema.createTable('jobs'), dialect)
        .addColumn('type', 'varchar(32)', (c) => c.notNull())
        .addColumn('state', 'varchar(16)', (c) => c.notNull())
        .addColumn('phase', 'varchar(16)', (c) => c.notNull())
        .addColumn('group_id', 'varchar(64)', (c) => c.notNull())
        .addColumn('bio', 'varchar(1024)', (c) => c.notNull())
        .addColumn('args', 'text', (c) => c.notNull())
        .addColumn('secrets', 'text')
        .addColumn('cluster_ids', 'varchar(1024)', (c) => c.notNull())
        .addColumn('result', 'text')
        .addColumn('error', 'text')
        .addColumn('user_id', 'integer')
        .addColumn('user_name', 'varchar(255)', (c) => c.notNull())
        .addColumn('copied_from', 'integer')
        .addColumn('run_count', 'integer', (c) => c.notNull())
        .addColumn('stop_requested_by', 'varchar(255)')
        .addColumn('scheduled_at_ms', 'bigint')
        .addColumn('started_at_ms', 'bigint')
        .addColumn('finished_at_ms', 'bigint')
        .addColumn('created_at_ms', 'bigint', (c) => c.notNull())
        .addColumn('updated_at_ms', 'bigint', (c) => c.notNull())
        .execute()
      await db.schema.createIndex('jobs_type_state_index').on('jobs').columns(['type', 'state']).execute()
      await db.schema.createIndex('jobs_phase_index').on('jobs').column('phase').execute()

      await addId(db.schema.createTable('job_hosts'), dialect)
        .addColumn('job_id', 'integer', (c) => c.notNull())
        .addColumn('cluster_id', 'integer', (c) => c.notNull())
        // The host's id, or the name asked for when no host matched it.
        .addColumn('host_key', 'varchar(255)', (c) => c.notNull())
        .addColumn('hostname', 'varchar(255)', (c) => c.notNull())
        .addColumn('ip', 'varchar(64)', (c) => c.notNull())
        .addColumn('seed', 'integer', (c) => c.notNull())
        .addColumn('url', 'varchar(2048)', (c) => c.notNull())
        .addColumn('url_index', 'integer', (c) => c.notNull())
        .addColumn('task_id', 'varchar(64)', (c) => c.notNull())
        .addColumn('state', 'varchar(16)', (c) => c.notNull())
        .addColumn('completed_bytes', 'bigint', (c) => c.notNull())
        .addColumn('content_length', 'bigint', (c) => c.notNull())
        .addColumn('finished_pieces', 'integer', (c) => c.notNull())
        .addColumn('total_pieces', 'integer', (c) => c.notNull())
        .addColumn('bytes_per_second', 'bigint', (c) => c.notNull())
        .addColumn('code', 'varchar(64)', (c) => c.notNull())
        .addColumn('description', 'varchar(1024)', (c) => c.notNull())
        .addColumn('cost_ms', 'bigint', (c) => c.notNull())
        .addColumn('created_at_ms', 'bigint', (c) => c.notNull())
        .addColumn('updated_at_ms', 'bigint', (c) => c.notNull())
        .execute()
      await db.schema.createIndex('job_hosts_unique_index').on('job_hosts').columns(['job_id', 'host_key', 'url_index']).unique().execute()
      await db.schema.createIndex('job_hosts_updated_index').on('job_hosts').columns(['job_id', 'updated_at_ms']).execute()

      await db.schema.createTable('secret_keys')
        .addColumn('name', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('key_base64', 'varchar(128)', (c) => c.notNull())
        .addColumn('created_at_ms', 'bigint', (c) => c.notNull())
        .execute()
    },
  }
}
