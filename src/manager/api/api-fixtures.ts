import type { FastifyInstance } from 'fastify'
import type { LightMyRequestResponse } from 'fastify'
import type { TestContext } from 'node:test'
import { ManualClock } from '../../common/manual-clock.js'
import { createLogger } from '../../common/logger.js'
import { bootstrapRoot } from '../auth/root-bootstrap.js'
import { createMetricsRegistry } from '../../common/metrics.js'
import type { DialectName } from '../db/database.js'
import { createTestDatabase, type TestDatabase } from '../db/database-fixtures.js'
import type { LiveSchedulers } from '../live/live-schedulers.js'
import { createManagerServices, type ManagerServices } from '../manager-services.js'
import { buildApi } from './app.js'

/** scrypt at its cheapest, for tests only: the suite hashes dozens of passwords. */
export const TEST_SCRYPT = { N: 16, r: 1, p: 1 }
export const ROOT_PASSWORD = 'root-password-4f8a1c'
export const SESSION_TTL_MS = 24 * 3600_000

/** A manager's API over a test database of its own, with a manual clock and every log line kept. */
export interface TestApi {
  readonly app: FastifyInstance
  readonly services: ManagerServices
  readonly test: TestDatabase
  readonly clock: ManualClock
  /** Every line the API logged. */
  readonly logs: string[]
  /** What the API put in the job queue (nothing runs jobs here), and what it took out. */
  readonly queue: { readonly enqueued: Array<{ jobId: number; runAt: Date | undefined }>; readonly removed: number[] }
  /** Another manager on the same database, as a second process would be. */
  another(): TestApi
}

/** What join tokens carry as the CA's pin in these tests: no CA is made, none is needed to make tokens. */
export const TEST_CA_PIN = 'P'.repeat(43)

/** What a test's API may be given besides its database: the clusters' live schedulers (fakes). */
export interface TestApiOptions {
  readonly liveSchedulers?: LiveSchedulers
  /** Serves a console's files from there. */
  readonly consoleDir?: string
}

function build(test: TestDatabase, clock: ManualClock, logs: string[], options: TestApiOptions = {}): TestApi {
  const queue = { enqueued: [] as Array<{ jobId: number; runAt: Date | undefined }>, removed: [] as number[] }
  const jobQueue = {
    enqueue: (jobId: number, runAt?: Date) => {
      queue.enqueued.push({ jobId, runAt })
      return Promise.resolve()
    },
    remove: (jobId: number) => {
      queue.removed.push(jobId)
      return Promise.resolve()
    },
  }
  const logger = createLogger({ level: 'trace', name: 'manager', destination: { write: (line: string) => { logs.push(line) } } })
  const services = createManagerServices(
    { database: test.database, clock, jobQueue, logger, ...(options.liveSchedulers === undefined ? {} : { liveSchedulers: options.liveSchedulers }) },
    { sessionTtlMs: SESSION_TTL_MS, scrypt: TEST_SCRYPT, caPin: () => TEST_CA_PIN },
  )
  const app = buildApi({ registry: createMetricsRegistry('manager'), logger, services, consoleDir: options.consoleDir })
  return { app, services, test, clock, logs, queue, another: () => build(test, clock, logs, options) }
}

/** Opens a migrated database in `dialect`, makes root with ROOT_PASSWORD, and drops it all after the test. */
export async function startApi(t: TestContext, dialect: DialectName, options: TestApiOptions = {}): Promise<TestApi> {
  const test = await createTestDatabase(dialect)
  const clock = new ManualClock(Date.parse('2026-01-01T00:00:00Z'))
  const api = build(test, clock, [], options)
  const apps: FastifyInstance[] = [api.app]
  t.after(async () => {
    for (const app of apps) await app.close()
    await test.drop()
  })
  await api.services.clusters.ensureDefault()
  const logger = createLogger({ level: 'trace', name: 'manager', destination: { write: (line: string) => { api.logs.push(line) } } })
  await bootstrapRoot({ ...api.services, logger, printSecret: () => { throw new Error('a given root password is never printed') } }, { rootPassword: ROOT_PASSWORD })
  return api
}

export interface Call {
  readonly method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'
  readonly url: string
  readonly token?: string
  readonly cookie?: string
  readonly origin?: string
  readonly body?: unknown
  readonly remoteAddress?: string
}

/** One request through `app.inject`; a body is sent as JSON. */
export async function call(app: FastifyInstance, request: Call): Promise<LightMyRequestResponse> {
  const headers: Record<string, string> = {}
  if (request.token !== undefined) headers['authorization'] = `Bearer ${request.token}`
  if (request.cookie !== undefined) headers['cookie'] = request.cookie
  if (request.origin !== undefined) headers['origin'] = request.origin
  return app.inject({
    method: request.method,
    url: request.url,
    headers,
    ...(request.body === undefined ? {} : { payload: JSON.stringify(request.body), headers: { ...headers, 'content-type': 'application/json' } }),
    ...(request.remoteAddress === undefined ? {} : { remoteAddress: request.remoteAddress }),
  })
}

/** Signs in and answers the session token; throws unless it worked. */
export async function signin(app: FastifyInstance, name: string, password: string, remoteAddress?: string): Promise<string> {
  const response = await call(app, { method: 'POST', url: '/api/v1/users/signin', body: { name, password }, ...(remoteAddress === undefined ? {} : { remoteAddress }) })
  if (response.statusCode !== 200) throw new Error(`sign-in of ${name}: ${response.statusCode} ${response.body}`)
  return (response.json<{ token: string }>()).token
}

/** Creates a user as root (with `roles`) and answers their id and session token. */
export async function userWith(api: TestApi, rootToken: string, name: string, roles: string[]): Promise<{ id: number; token: string }> {
  const response = await call(api.app, { method: 'POST', url: '/api/v1/users', token: rootToken, body: { name, password: `${name}-password`, roles } })
  if (response.statusCode !== 201) throw new Error(`create ${name}: ${response.statusCode} ${response.body}`)
  return { id: response.json<{ id: number }>().id, token: await signin(api.app, name, `${name}-password`) }
}

/** Every row of every table but the audit log, sessions and sign-in failures, to show a refused request changed nothing. */
export async function snapshot(test: TestDatabase): Promise<string> {
  const db = test.database.db
  const tables = {
    clusters: await db.selectFrom('clusters').selectAll().orderBy('id').execute(),
    users: await db.selectFrom('users').selectAll().orderBy('id').execute(),
    roles: await db.selectFrom('roles').selectAll().orderBy('id').execute(),
    role_permissions: await db.selectFrom('role_permissions').selectAll().orderBy('role_id').orderBy('object').orderBy('action').execute(),
    user_roles: await db.selectFrom('user_roles').selectAll().orderBy('user_id').orderBy('role_id').execute(),
    // When a token was last used is bookkeeping, not a change a request asked for.
    personal_access_tokens: (await db.selectFrom('personal_access_tokens').selectAll().orderBy('id').execute()).map((row) => ({ ...row, last_used_at_ms: null })),
    schedulers: await db.selectFrom('schedulers').selectAll().orderBy('id').execute(),
    seed_peers: await db.selectFrom('seed_peers').selectAll().orderBy('id').execute(),
    join_tokens: await db.selectFrom('join_tokens').selectAll().orderBy('id').execute(),
    certificates: await db.selectFrom('certificates').selectAll().orderBy('host_id').execute(),
    jobs: await db.selectFrom('jobs').selectAll().orderBy('id').execute(),
  }
  return JSON.stringify(tables)
}

/** Every row of every table, as text, to search for a secret. */
export async function everyRow(test: TestDatabase): Promise<string> {
  const db = test.database.db
  const names = ['clusters', 'users', 'roles', 'role_permissions', 'user_roles', 'sessions', 'personal_access_tokens', 'audits', 'signin_failures', 'join_tokens', 'certificates', 'cluster_ca', 'jobs', 'job_hosts'] as const
  const rows = await Promise.all(names.map((name) => db.selectFrom(name).selectAll().execute()))
  return JSON.stringify(rows)
}
