import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { createTestDatabase, type TestDatabase } from '../src/manager/db/database-fixtures.js'
import { MiB, sha256File, tempDir } from './support/files.js'
import { makeRandomFile, OriginServer } from './support/origin-server.js'
import {
  dfget, startDaemon, startManager, startScheduler, waitFor, type DaemonProcess, type ManagerProcess, type SchedulerProcess,
} from './support/processes.js'

/** Plaintext, as the scheduler and daemons of this test run --insecure: it is about sharing one database. */
const MANAGER_ENV = { MANAGER_KEEPALIVE_INTERVAL: '1s', MANAGER_KEEPALIVE_TIMEOUT: '4s', MANAGER_SECURITY_INSECURE: 'true' }

function knownSchedulers(daemon: DaemonProcess): string[] {
  try {
    return (JSON.parse(readFileSync(join(daemon.dataDir, 'schedulers.json'), 'utf8')) as { schedulers: string[] }).schedulers
  } catch {
    return []
  }
}

/**
 * Two managers on one PostgreSQL database act as one: what a scheduler registers through one,
 * a daemon discovers through the other, and either serves alone when the other dies. About
 * discovery only, so without identities (the managers serve plaintext for now).
 */
describe('two managers on PostgreSQL', { timeout: 300_000 }, () => {
  let dir!: Awaited<ReturnType<typeof tempDir>>
  let database: TestDatabase | undefined
  let origin: OriginServer | undefined
  let managerA: ManagerProcess | undefined
  let managerB: ManagerProcess | undefined
  let scheduler: SchedulerProcess | undefined
  let daemon: DaemonProcess | undefined

  before(async () => {
    dir = await tempDir('manager-postgres')
    database = await createTestDatabase('postgres')
    origin = await OriginServer.start()
    managerA = await startManager(join(dir.path, 'manager-a'), { databaseUrl: database.url, env: MANAGER_ENV })
    managerB = await startManager(join(dir.path, 'manager-b'), { databaseUrl: database.url, env: MANAGER_ENV })
  })

  after(async () => {
    await daemon?.stop()
    await scheduler?.stop()
    await managerA?.stop()
    await managerB?.stop()
    await origin?.close()
    await database?.drop()
    await (dir as typeof dir | undefined)?.remove()
  })

  it('lists through B the scheduler registered through A, and B alone serves keepalives and discovery once A is killed', { timeout: 240_000 }, async () => {
    const a = managerA!
    const b = managerB!
    // A first: the scheduler registers through A, and moves on to B only when A cannot be reached.
    scheduler = await startScheduler(join(dir.path, 'scheduler'), {
      SCHEDULER_SECURITY_INSECURE: 'true', SCHEDULER_MANAGER_ADDRS: `${a.grpcAddress},${b.grpcAddress}`, SCHEDULER_MANAGER_KEEP_ALIVE_INTERVAL: '1s',
    })
    await waitFor(() => readFileSync(a.logPath, 'utf8').includes('"scheduler registered"'), 'the scheduler to register through A')
    assert.ok(!readFileSync(b.logPath, 'utf8').includes('"scheduler registered"'), 'not through B')
    daemon = await startDaemon(join(dir.path, 'daemon'), { args: ['--insecure', '--manager', b.grpcAddress], env: { DFDAEMON_MANAGER_REFRESH_INTERVAL: '1s' } })
    await waitFor(() => knownSchedulers(daemon!).includes(scheduler!.address), 'the daemon to discover the scheduler through B')

    await a.kill()
    const killedAtMs = Date.now()
    const row = async (): Promise<{ last_keepalive_at_ms: number; state: string } | undefined> =>
      database!.database.db.selectFrom('schedulers').select(['last_keepalive_at_ms', 'state']).executeTakeFirst()
    await waitFor(async () => ((await row())?.last_keepalive_at_ms ?? 0) > killedAtMs + 5_000, 'keepalives through B past the keepalive timeout', 30_000)
    assert.equal((await row())?.state, 'active')
    assert.deepEqual(knownSchedulers(daemon), [scheduler.address], 'B still lists the scheduler')

    const content = await makeRandomFile(join(dir.path, 'file.bin'), 4 * MiB)
    const url = origin!.serve('/postgres/file', content)
    const result = await dfget([url, '-O', join(dir.path, 'out.bin'), '-e', daemon.socketPath, '--no-progress'])
    assert.equal(result.code, 0, result.stderr)
    assert.equal(await sha256File(join(dir.path, 'out.bin')), content.sha256)
    assert.ok(readFileSync(join(dir.path, 'scheduler', 'scheduler.log'), 'utf8').includes('"peer registered"'), 'the download went through the discovered scheduler')
  })

  it('loses nothing when a killed manager starts again: a new daemon discovers the scheduler through it', { timeout: 120_000 }, async () => {
    managerA = await startManager(join(dir.path, 'manager-a'), { databaseUrl: database!.url, env: MANAGER_ENV })
    const late = await startDaemon(join(dir.path, 'late-daemon'), { args: ['--insecure', '--manager', managerA.grpcAddress], env: { DFDAEMON_MANAGER_REFRESH_INTERVAL: '1s' } })
    try {
      await waitFor(() => knownSchedulers(late).includes(scheduler!.address), 'the new daemon to discover the scheduler through the restarted A')
      const { total } = await database!.database.db.selectFrom('clusters').select((eb) => eb.fn.countAll<number>().as('total')).executeTakeFirstOrThrow()
      assert.equal(total, 1, 'one default cluster, however many managers started')
    } finally {
      await late.stop()
    }
  })
})
