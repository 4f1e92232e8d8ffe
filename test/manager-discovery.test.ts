import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { rendezvousPick } from '../src/common/rendezvous.js'
import { silentLogger } from '../src/common/logger.js'
import { resolveManagerConfig } from '../src/manager/config.js'
import { Manager } from '../src/manager/manager.js'
import { taskIdFor } from '../src/protocol/task-id.js'
import { initClusterPki } from '../src/security/cluster-pki.js'
import { MiB, sha256File, tempDir } from './support/files.js'
import { makeRandomFile, OriginServer, type Content } from './support/origin-server.js'
import {
  ALLOW_LOOPBACK_ORIGINS, dfget, metricValue, startDaemon, startScheduler, waitFor, type DaemonProcess, type SchedulerProcess,
} from './support/processes.js'

const REMOTE = 'damselfly_dfdaemon_download_traffic_bytes_total{type="remote_peer"}'
/** Short, so a dead scheduler leaves discovery in seconds: keepalive every second, gone after 4 s. */
const KEEPALIVE = { interval: '1s', timeout: '4s' }
const SCHEDULER_ENV = { SCHEDULER_MANAGER_KEEP_ALIVE_INTERVAL: '1s' }
const DAEMON_ENV = { DFDAEMON_MANAGER_REFRESH_INTERVAL: '1s', DFDAEMON_MANAGER_SEED_PEER_KEEP_ALIVE_INTERVAL: '1s' }

/** The schedulers a daemon last heard of from the manager, as it keeps them on disk. */
function knownSchedulers(daemon: DaemonProcess): string[] {
  try {
    return (JSON.parse(readFileSync(join(daemon.dataDir, 'schedulers.json'), 'utf8')) as { schedulers: string[] }).schedulers
  } catch {
    return []
  }
}

/** The log lines of the peers a scheduler registered, each naming its task. */
function registeredTasks(schedulerDir: string): string {
  return readFileSync(join(schedulerDir, 'scheduler.log'), 'utf8').split('\n').filter((line) => line.includes('"peer registered"')).join('\n')
}

/**
 * The manager (in process, to read its tables) holds the cluster CA, adopted from the test's PKI
 * directory, and serves mutual TLS; the schedulers, the seed peer and the daemons are real
 * processes with identities from that CA, and the daemons know no scheduler but through the manager.
 */
describe('discovery through the manager, with identities', { timeout: 600_000 }, () => {
  let dir!: Awaited<ReturnType<typeof tempDir>>
  let origin!: OriginServer
  let manager: Manager | undefined
  const schedulers = new Map<string, { process: SchedulerProcess; dir: string }>()
  let seed: DaemonProcess | undefined
  const daemons: DaemonProcess[] = []
  let pkiDir = ''
  let clusterId = 0

  async function startTheManager(): Promise<Manager> {
    const config = resolveManagerConfig({ flags: { server: { dataDir: join(dir.path, 'manager'), rest: { listenIP: '127.0.0.1', port: 0 }, grpc: { listenIP: '127.0.0.1', port: grpcPort } }, keepalive: KEEPALIVE, security: { importPkiDir: pkiDir } } })
    const started = new Manager(config, { logger: silentLogger() })
    await started.start()
    return started
  }
  let grpcPort = 0

  async function addScheduler(name: string): Promise<SchedulerProcess> {
    const schedulerDir = join(dir.path, name)
    const process = await startScheduler(schedulerDir, { ...SCHEDULER_ENV, SCHEDULER_MANAGER_ADDRS: managerAddress(), SCHEDULER_HOST_HOSTNAME: name }, { pkiDir })
    schedulers.set(name, { process, dir: schedulerDir })
    return process
  }

  function managerAddress(): string {
    return `127.0.0.1:${grpcPort}`
  }

  async function aliveSchedulers(): Promise<string[]> {
    if (manager === undefined) return []
    return (await manager.schedulers.listAlive(clusterId, 4_000)).map((s) => `${s.ip}:${s.port}`).sort()
  }

  async function download(path: string, content: Content, on: readonly DaemonProcess[] = daemons): Promise<string> {
    const url = origin.serve(path, content)
    const results = await Promise.all(on.map((daemon, i) => dfget([url, '-O', join(dir.path, `${path.replaceAll('/', '_')}-${i}`), '-e', daemon.socketPath, '--no-progress'], { timeoutMs: 120_000 })))
    for (const result of results) assert.equal(result.code, 0, result.stderr)
    for (let i = 0; i < on.length; i++) assert.equal(await sha256File(join(dir.path, `${path.replaceAll('/', '_')}-${i}`)), content.sha256)
    return url
  }

  before(async () => {
    dir = await tempDir('manager-discovery')
    origin = await OriginServer.start()
    pkiDir = join(dir.path, 'pki')
    await initClusterPki(pkiDir)
    manager = await startTheManager()
    grpcPort = Number(manager.grpcAddressBound?.split(':').pop())
    clusterId = (await manager.clusters.ensureDefault()).id
    await addScheduler('sched-a')
    await addScheduler('sched-b')
    seed = await startDaemon(join(dir.path, 'seed'), { cluster: { pkiDir }, args: ['--seed', '--manager', managerAddress()], env: { ...ALLOW_LOOPBACK_ORIGINS, ...DAEMON_ENV, DFDAEMON_HOST_HOSTNAME: 'seed' } })
    for (let i = 0; i < 3; i++) {
      daemons.push(await startDaemon(join(dir.path, `peer-${i}`), { cluster: { pkiDir }, args: ['--manager', managerAddress()], env: { ...DAEMON_ENV, DFDAEMON_HOST_HOSTNAME: `peer-${i}` } }))
    }
  })

  after(async () => {
    await Promise.all(daemons.map((daemon) => daemon.stop()))
    await seed?.stop()
    await Promise.all([...schedulers.values()].map(({ process }) => process.stop()))
    await manager?.stop()
    await (origin as OriginServer | undefined)?.close()
    await (dir as typeof dir | undefined)?.remove()
  })

  it('registers both schedulers and the seed peer, and the daemons download P2P from what they discovered', { timeout: 120_000 }, async () => {
    const both = [schedulers.get('sched-a')?.process.address, schedulers.get('sched-b')?.process.address].sort()
    await waitFor(async () => JSON.stringify(await aliveSchedulers()) === JSON.stringify(both), 'both schedulers alive at the manager')
    await waitFor(async () => (await manager?.seedPeers.listAlive(clusterId, 4_000))?.length === 1, 'the seed peer alive at the manager')
    for (const daemon of [...daemons, seed!]) await waitFor(() => JSON.stringify(knownSchedulers(daemon)) === JSON.stringify(both), `${daemon.dataDir} to know both schedulers`)
    const content = await makeRandomFile(join(dir.path, 'first.bin'), 16 * MiB)
    await download('/discovery/first', content)
    assert.ok((await origin.settledStatsOf('/discovery/first')).bodyBytesSent <= content.length * 1.05, 'the origin sent the file about once')
    let fromPeers = 0
    for (const daemon of daemons) fromPeers += await metricValue(daemon.metricsAddress(), REMOTE)
    assert.ok(fromPeers >= 2 * content.length, `${fromPeers} bytes came from peers`)
    await waitFor(async () => (await manager?.hosts.list(clusterId))?.length === 4, 'the schedulers to report the four hosts')
    const hosts = await manager!.hosts.list(clusterId)
    assert.deepEqual(hosts.map((host) => host.type).sort(), ['normal', 'normal', 'normal', 'seed'])
    assert.ok(hosts.every((host) => host.version !== '' && host.os === process.platform && host.hostname !== ''), JSON.stringify(hosts))
  })

  it('drops a scheduler killed mid-download from discovery, and downloads go on', { timeout: 120_000 }, async () => {
    const a = schedulers.get('sched-a')!
    const b = schedulers.get('sched-b')!
    // A file whose task belongs to A, so its download is under way there when A dies.
    const content = await makeRandomFile(join(dir.path, 'second.bin'), 64 * MiB)
    let path = ''
    for (let i = 0; path === ''; i++) {
      const candidate = `/discovery/second-${i}`
      const taskId = taskIdFor({ url: origin.url(candidate) })
      if (rendezvousPick(taskId, [a.process.address, b.process.address], (x) => x) === a.process.address) path = candidate
    }
    const taskId = taskIdFor({ url: origin.url(path) })
    const downloading = download(path, content, daemons.slice(0, 2))
    await waitFor(() => registeredTasks(a.dir).includes(taskId), 'the download to register at A')
    await a.process.kill()
    schedulers.delete('sched-a')
    await waitFor(() => daemons.every((daemon) => !knownSchedulers(daemon).includes(a.process.address)), 'every daemon to drop A within 30 s', 30_000)
    assert.deepEqual(knownSchedulers(daemons[0]!), [b.process.address])
    await downloading
    await download('/discovery/after-a', await makeRandomFile(join(dir.path, 'after-a.bin'), 4 * MiB))
  })

  it('sends a share of new tasks to a scheduler that joins', { timeout: 120_000 }, async () => {
    const b = schedulers.get('sched-b')!
    const c = await addScheduler('sched-c')
    const both = [b.process.address, c.address].sort()
    await waitFor(() => daemons.every((daemon) => JSON.stringify(knownSchedulers(daemon)) === JSON.stringify(both)), 'every daemon to know C')
    let path = ''
    for (let i = 0; path === ''; i++) {
      const candidate = `/discovery/third-${i}`
      if (rendezvousPick(taskIdFor({ url: origin.url(candidate) }), both, (x) => x) === c.address) path = candidate
    }
    await download(path, await makeRandomFile(join(dir.path, 'third.bin'), 4 * MiB))
    assert.ok(registeredTasks(schedulers.get('sched-c')!.dir).includes(taskIdFor({ url: origin.url(path) })), 'the task went to C')
  })

  it('applies a cluster config changed at the manager without a restart: a blocklisted application skips P2P', { timeout: 120_000 }, async () => {
    const cluster = await manager!.clusters.update(clusterId, { config: { blocklist: { applications: ['blocked-app'] } } })
    const applied = `"version":${cluster.updatedAtMs}`
    await waitFor(() => [...schedulers.values()].every(({ dir: schedulerDir }) => readFileSync(join(schedulerDir, 'scheduler.log'), 'utf8').split('\n')
      .some((line) => line.includes('"cluster config applied"') && line.includes(applied))), 'every scheduler to apply the new config', 10_000)
    const content = await makeRandomFile(join(dir.path, 'blocked.bin'), 2 * MiB)
    const url = origin.serve('/discovery/blocked', content)
    for (const [i, daemon] of daemons.slice(0, 2).entries()) {
      const result = await dfget([url, '-O', join(dir.path, `blocked-${i}`), '-e', daemon.socketPath, '--no-progress', '--application', 'blocked-app'])
      assert.equal(result.code, 0, result.stderr)
      assert.equal(await sha256File(join(dir.path, `blocked-${i}`)), content.sha256)
      assert.match(readFileSync(daemon.logPath, 'utf8'), /the cluster blocklists application \\"blocked-app\\"; fetch it from the source/)
    }
    assert.equal((await origin.settledStatsOf('/discovery/blocked')).bodyBytesSent, 2 * content.length, 'each daemon fetched it from the source itself: no seed, no parent')
    const refused = await dfget([url, '-O', join(dir.path, 'blocked-refused'), '-e', daemons[2]!.socketPath, '--no-progress', '--application', 'blocked-app', '--priority', '2'])
    assert.equal(refused.code, 1, 'priority 2 may not go back to source')
    assert.match(refused.stderr, /blocklists application/)
    await manager!.clusters.update(clusterId, { config: { blocklist: { applications: [] } } })
  })

  it('loses nothing when the manager stops and starts again, and the daemons work on meanwhile', { timeout: 120_000 }, async () => {
    const before = await aliveSchedulers()
    await manager?.stop()
    manager = undefined
    await download('/discovery/manager-down', await makeRandomFile(join(dir.path, 'down.bin'), 4 * MiB))
    assert.equal(knownSchedulers(daemons[0]!).length, 2, 'the daemons kept their schedulers')
    manager = await startTheManager()
    assert.equal((await manager.clusters.list()).total, 1)
    await waitFor(async () => JSON.stringify(await aliveSchedulers()) === JSON.stringify(before), 'the schedulers alive again at the restarted manager')
    await waitFor(async () => (await manager?.seedPeers.listAlive(clusterId, 4_000))?.length === 1, 'the seed peer alive again')
    assert.equal((await manager.schedulers.list()).filter((s) => s.hostname === 'sched-a').length, 1, 'A is still on record, inactive')
    await download('/discovery/manager-back', await makeRandomFile(join(dir.path, 'back.bin'), 4 * MiB))
  })
})
