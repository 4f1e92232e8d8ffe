import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { sql } from 'kysely'
import { parseDatabaseUrl } from './database.js'
import { createTestDatabase, TEST_DIALECTS } from './database-fixtures.js'
import { migrateToLatest } from './migrate.js'

describe('parseDatabaseUrl', { timeout: 5_000 }, () => {
  const cases = [
    { url: '', dialect: 'sqlite', location: '/data/manager.db' },
    { url: 'sqlite:/var/lib/m.db', dialect: 'sqlite', location: '/var/lib/m.db' },
    { url: 'sqlite:///var/lib/m.db', dialect: 'sqlite', location: '/var/lib/m.db' },
    { url: 'postgres://u:p@db:5432/manager', dialect: 'postgres', location: 'postgres://u:p@db:5432/manager' },
    { url: 'postgresql://db/manager', dialect: 'postgres', location: 'postgresql://db/manager' },
    { url: 'mysql://root@db:3306/manager', dialect: 'mysql', location: 'mysql://root@db:3306/manager' },
    { url: 'mariadb://root@db:3306/manager', dialect: 'mysql', location: 'mysql://root@db:3306/manager' },
  ] as const
  for (const { url, dialect, location } of cases) {
    it(`reads ${JSON.stringify(url)}`, () => {
      assert.deepEqual(parseDatabaseUrl(url, '/data'), { dialect, location })
    })
  }

  it('refuses an unknown scheme in one line that names it and hides the password', () => {
    assert.throws(() => parseDatabaseUrl('mongodb://admin:hunter2@db/x', '/data'), (error: Error) => {
      assert.match(error.message, /database\.url must start with sqlite:, postgres:\/\/ or mysql:\/\//)
      assert.doesNotMatch(error.message, /hunter2/)
      return true
    })
  })
})

for (const dialect of TEST_DIALECTS) {
  describe(`migrations on ${dialect}`, { timeout: 60_000 }, () => {
    it('creates every table, and a second run changes nothing', async () => {
      const test = await createTestDatabase(dialect)
      try {
        const tables = (await test.database.db.introspection.getTables()).map((table) => table.name)
        for (const table of ['clusters', 'schedulers', 'seed_peers', 'hosts', 'users', 'roles', 'role_permissions', 'user_roles', 'sessions', 'personal_access_tokens', 'audits']) {
          assert.ok(tables.includes(table), `${table} in ${tables.join(', ')}`)
        }
        assert.deepEqual(await migrateToLatest(test.database), [])
        const now = Date.now()
        await test.database.db.insertInto('clusters').values({ name: 'a', bio: '', scopes: '{}', config: '{}', is_default: 1, created_at_ms: now, updated_at_ms: now }).execute()
        const row = await test.database.db.selectFrom('clusters').selectAll().executeTakeFirstOrThrow()
        assert.equal(row.created_at_ms, now, 'a BIGINT of milliseconds reads back as the same number')
        assert.equal(typeof row.id, 'number')
        const count = await test.database.db.selectFrom('clusters').select(sql<number>`count(*)`.as('n')).executeTakeFirstOrThrow()
        assert.equal(count.n, 1)
        await assert.rejects(
          test.database.db.insertInto('clusters').values({ name: 'a', bio: '', scopes: '{}', config: '{}', is_default: 0, created_at_ms: now, updated_at_ms: now }).execute(),
          'names are unique',
        )
      } finally {
        await test.drop()
      }
    })
  })
}
