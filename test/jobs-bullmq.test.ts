import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { mkdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { Redis } from 'ioredis'
import { createTestDatabase, type TestDatabase } from '../src/manager/db/database-fixtures.js'
import { initClusterPki } from '../src/security/cluster-pki.js'
import { MiB, sha256File, tempDir } from './support/files.js'
import { makeRandomFile, OriginServer } from './support/origin-server.js'
import {
  ALLOW_LOOPBACK_ORIGINS, startDaemon, startManager, startScheduler, waitFor, type DaemonProcess, type ManagerProcess, type SchedulerProcess,
} from './support/processes.js'

const REDIS_URL = 'redis://127.0.0.1:6379'
const ROOT_PASSWORD = 'bullmq-root-password-1'

/** Deletes every key under the test's prefix. */
async function dropKeys(prefix: string): Promise<void> {
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 })
  try {
    await redis.connect()
    for (let cursor = '0'; ;) {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000)
      if (keys.length > 0) await redis.del(...keys)
      cursor = next
      if (cursor === '0') break
    }
  } finally {
    redis.disconnect()
  }
}

/**
 * Two manager processes on one PostgreSQL database and one Redis (BullMQ): a job is run by one
 * of them; killed mid-job, the other takes the job over and finishes it.
 */
describe('jobs on BullMQ shared by two managers', { timeout: 300_000 }, () => {
  let dir!: Awaited<ReturnType<typeof tempDir>>
  let database: TestDatabase | undefined
  let origin: OriginServer | undefined
  const managers = new Map<string, ManagerProcess>()
  let scheduler: SchedulerProcess | undefined
  let daemon: DaemonProcess | undefined
  const prefix = `damselfly-test-${randomUUID()}`

  before(async () => {
    dir = await tempDir('jobs-bullmq')
    database = await createTestDatabase('postgres')
    origin = await OriginServer.start()
    const pkiDir = join(dir.path, 'pki')
    await initClusterPki(pkiDir)
    const env = {
      DAMSELFLY_ROOT_PASSWORD: ROOT_PASSWORD,
      MANAGER_KEEPALIVE_INTERVAL: '1s',
      MANAGER_KEEPALIVE_TIMEOUT: '4s',
      MANAGER_JOB_QUEUE_REDIS_URL: REDIS_URL,
      MANAGER_JOB_QUEUE_REDIS_PREFIX: prefix,
      // A dead manager's job is taken over once its lock lapses.
      MANAGER_JOB_QUEUE_REDIS_LOCK_DURATION: '2s',
    }
    for (const name of ['a', 'b']) managers.set(name, await startManager(join(dir.path, `manager-${name}`), { databaseUrl: database.url, env, pkiDir }))
    const addrs = [...managers.values()].map((manager) => manager.grpcAddress).join(',')
    scheduler = await startScheduler(join(dir.path, 'scheduler'), { SCHEDULER_MANAGER_ADDRS: addrs, SCHEDULER_MANAGER_KEEP_ALIVE_INTERVAL: '1s' }, { pkiDir })
    await mkdir(join(dir.path, 'out'), { recursive: true })
    daemon = await startDaemon(join(dir.path, 'daemon'), {
      cluster: { pkiDir },
      args: ['--manager', addrs],
      env: { ...ALLOW_LOOPBACK_ORIGINS, DFDAEMON_MANAGER_REFRESH_INTERVAL: '1s', DFDAEMON_HOST_HOSTNAME: 'node-1', DFDAEMON_DISTRIBUTION_OUTPUT_DIR: join(dir.path, 'out') },
    })
  }, { timeout: 180_000 })

  after(async () => {
    await daemon?.stop()
    await scheduler?.stop()
    for (const manager of managers.values()) await manager.stop()
    await origin?.close()
    await database?.drop()
    await dropKeys(prefix)
    await (dir as typeof dir | undefined)?.remove()
  })

  it('finishes on the other manager a job whose manager was killed mid-run', { timeout: 180_000 }, async () => {
    const [a, b] = [managers.get('a')!, managers.get('b')!]
    const call = async (manager: ManagerProcess, method: string, path: string, token: string | undefined, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> => {
      const response = await fetch(`http://${manager.restAddress}${path}`, {
        method,
        headers: { ...(token === undefined ? {} : { authorization: `Bearer ${token}` }), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      })
      return { status: response.status, json: await response.json() as Record<string, unknown> }
    }
    const token = String((await call(a, 'POST', '/api/v1/users/signin', undefined, { name: 'root', password: ROOT_PASSWORD })).json['token'])
    await waitFor(async () => {
      const hosts = await call(a, 'GET', '/api/v1/hosts', token)
      return Array.isArray(hosts.json) && hosts.json.length === 1
    }, 'the scheduler to report the daemon', 60_000)

    const content = await makeRandomFile(join(dir.path, 'release.bin'), 24 * MiB)
    const url = origin!.serve('/release.bin', content)
    const created = await call(a, 'POST', '/api/v1/jobs', token, { type: 'distribution', args: { type: 'file', url, hosts: ['node-1'], output_path: 'release.bin', rate_limit: '3MiB' } })
    assert.equal(created.status, 200, JSON.stringify(created.json))
    const id = Number(created.json['id'])
    const startedOn = async (manager: ManagerProcess): Promise<boolean> =>
      (await readFile(manager.logPath, 'utf8')).split('\n').some((line) => line.includes('"job started"') && line.includes(`"jobId":${id}`))
    let runner: ManagerProcess | undefined
    await waitFor(async () => {
      runner = (await startedOn(a)) ? a : (await startedOn(b)) ? b : undefined
      return runner !== undefined
    }, 'a manager to start the job')
    const other = runner === a ? b : a
    await waitFor(async () => {
      const rows = await call(other, 'GET', `/api/v1/jobs/${id}/hosts`, token)
      return Array.isArray(rows.json) && (rows.json as Array<{ completed_bytes: number }>).some((row) => row.completed_bytes > 0)
    }, 'the download to make progress', 60_000)
    await runner!.kill()

    let job: Record<string, unknown> = {}
    await waitFor(async () => {
      job = (await call(other, 'GET', `/api/v1/jobs/${id}`, token)).json
      return job['state'] !== 'PENDING'
    }, 'the other manager to finish the job', 120_000)
    assert.equal(job['state'], 'SUCCESS', JSON.stringify(job))
    assert.ok(Number(job['run_count']) >= 2, 'it ran again, on the other manager')
    assert.ok(await startedOn(other), 'the other manager took it over')
    assert.equal(await sha256File(join(dir.path, 'out', 'release.bin')), content.sha256)
  })
})
