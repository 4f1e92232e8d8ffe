import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { credentials } from '@grpc/grpc-js'
import { InstantClock } from '../../common/instant-clock.js'
import { silentLogger } from '../../common/logger.js'
import { rendezvousPick } from '../../common/rendezvous.js'
import { ManagedSchedulerDirectory, StaticSchedulerDirectory } from './scheduler-directory.js'
import { SchedulerPool } from './scheduler-pool.js'

const TEST = { timeout: 5_000 }
const A = 'a.test:8002'
const B = 'b.test:8002'
const C = 'c.test:8002'

describe('scheduler directories', TEST, () => {
  let dir: string
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'damselfly-directory-'))
  })
  after(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  it('a static list is sorted, never changes, and is enabled only when it names a scheduler', () => {
    assert.deepEqual(new StaticSchedulerDirectory([B, A, B]).members, [A, B])
    assert.equal(new StaticSchedulerDirectory([]).enabled, false)
  })

  it('a managed one starts from scheduler.addrs, tells each change once, and keeps the list on disk across a restart', async () => {
    const cacheFile = join(dir, 'restart', 'schedulers.json')
    const first = new ManagedSchedulerDirectory({ logger: silentLogger() }, { cacheFile, initial: [C] })
    await first.start()
    assert.deepEqual(first.members, [C], 'no file yet: the static list')
    assert.equal(first.enabled, true)
    const seen: Array<readonly string[]> = []
    first.onChange((members) => seen.push(members))
    first.update({ clusterId: 1, schedulers: [B, A] })
    first.update({ clusterId: 1, schedulers: [A, B] })
    await first.stop()
    assert.deepEqual(seen, [[A, B]], 'the same list twice is one change')
    assert.deepEqual(JSON.parse(await readFile(cacheFile, 'utf8')), { clusterId: 1, schedulers: [A, B] })

    const restarted = new ManagedSchedulerDirectory({ logger: silentLogger() }, { cacheFile, initial: [C] })
    await restarted.start()
    assert.deepEqual(restarted.members, [A, B], 'every manager down: the list the last run had')
    restarted.update({ clusterId: 1, schedulers: [] })
    assert.deepEqual(restarted.members, [], 'a manager that lists none is believed')
    await restarted.stop()
  })

  it('ignores a cache file it did not write', async () => {
    const cacheFile = join(dir, 'garbage.json')
    await writeFile(cacheFile, '{"schedulers": [1, 2')
    const directory = new ManagedSchedulerDirectory({ logger: silentLogger() }, { cacheFile, initial: [A] })
    await directory.start()
    assert.deepEqual(directory.members, [A])
  })
})

describe('SchedulerPool over a changing directory', TEST, () => {
  it('routes new tasks over the members of the moment: one that joins takes its share, one that leaves is asked nothing', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'damselfly-pool-'))
    try {
      const directory = new ManagedSchedulerDirectory({ logger: silentLogger() }, { cacheFile: join(dir, 'schedulers.json'), initial: [A] })
      const pool = new SchedulerPool({ clock: new InstantClock(), connected: () => true }, { directory, credentials: credentials.createInsecure(), waits: { registerTimeoutMs: 1_000, scheduleTimeoutMs: 60_000 } })
      const tasks = Array.from({ length: 60 }, (_, i) => i.toString(16).padStart(64, '0'))
      assert.ok(tasks.every((task) => pool.pick(task) === A))
      directory.update({ clusterId: 1, schedulers: [A, B] })
      const owners = tasks.map((task) => pool.pick(task))
      assert.deepEqual(owners, tasks.map((task) => rendezvousPick(task, [A, B], (address) => address)))
      assert.ok(owners.includes(B) && owners.includes(A), 'B joined and takes part of the tasks')
      pool.markDown(A)
      directory.update({ clusterId: 1, schedulers: [B, C] })
      assert.ok(tasks.every((task) => pool.pick(task) !== A), 'A left: never picked again')
      directory.update({ clusterId: 1, schedulers: [A, B, C] })
      assert.ok(tasks.some((task) => pool.pick(task) === A), 'A back: its down mark went with it')
      pool.close()
      await directory.stop()
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
