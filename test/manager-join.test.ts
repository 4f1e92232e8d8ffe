import assert from 'node:assert/strict'
import { X509Certificate } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { after, before, describe, it } from 'node:test'
import { MiB, sha256File, tempDir } from './support/files.js'
import { makeRandomFile, OriginServer, type Content } from './support/origin-server.js'
import {
  ALLOW_LOOPBACK_ORIGINS, dfget, metricValue, startDaemon, startManager, startScheduler, waitFor,
  type DaemonProcess, type ManagerProcess, type SchedulerProcess,
} from './support/processes.js'

const ROOT_PASSWORD = 'a-root-password-for-tests'
const REMOTE = 'damselfly_dfdaemon_download_traffic_bytes_total{type="remote_peer"}'
const SOURCE = 'damselfly_dfdaemon_download_traffic_bytes_total{type="back_to_source"}'
const DAEMON_ENV = { DFDAEMON_MANAGER_REFRESH_INTERVAL: '1s', DFDAEMON_MANAGER_SEED_PEER_KEEP_ALIVE_INTERVAL: '1s' }
/** The bound: a revoked host talks to nobody within a minute. */
const REVOCATION_DEADLINE_MS = 60_000

interface CertificateJson {
  readonly host_id: string
  readonly role: string
  readonly hostname: string
  readonly cluster_id: number
  readonly revoked_at: string | null
}

/**
 * Nothing made by hand: the manager holds the CA, an administrator makes join tokens through the
 * REST API, and the scheduler, the seed peer and two daemons trade them for certificates on their
 * first start. Then the administrator revokes one daemon.
 */
describe('joining through the manager, and revoking a host', { timeout: 300_000 }, () => {
  let dir!: Awaited<ReturnType<typeof tempDir>>
  let origin!: OriginServer
  let manager: ManagerProcess | undefined
  let scheduler: SchedulerProcess | undefined
  let seed: DaemonProcess | undefined
  const daemons: DaemonProcess[] = []
  let bearer = ''

  async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
    const response = await fetch(`http://${manager?.restAddress ?? ''}${path}`, {
      method,
      headers: { authorization: `Bearer ${bearer}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    })
    const text = await response.text()
    assert.ok(response.ok, `${method} ${path} answered ${response.status}: ${text}`)
    return JSON.parse(text) as T
  }

  async function joinToken(role: string, uses?: number): Promise<string> {
    return (await api<{ token: string }>('POST', '/api/v1/join-tokens', { role, ttl: '10m', ...(uses === undefined ? {} : { uses }) })).token
  }

  before(async () => {
    dir = await tempDir('manager-join')
    origin = await OriginServer.start()
    manager = await startManager(join(dir.path, 'manager'), { env: { DAMSELFLY_ROOT_PASSWORD: ROOT_PASSWORD, MANAGER_KEEPALIVE_INTERVAL: '1s', MANAGER_KEEPALIVE_TIMEOUT: '4s' } })
    const signin = await fetch(`http://${manager.restAddress}/api/v1/users/signin`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'root', password: ROOT_PASSWORD }),
    })
    assert.equal(signin.status, 200, await signin.clone().text())
    bearer = ((await signin.json()) as { token: string }).token
    const schedulerDir = join(dir.path, 'scheduler')
    scheduler = await startScheduler(schedulerDir, {
      SCHEDULER_MANAGER_ADDRS: manager.grpcAddress,
      SCHEDULER_MANAGER_KEEP_ALIVE_INTERVAL: '1s',
      SCHEDULER_SECURITY_IDENTITY_DIR: join(schedulerDir, 'identity'),
      SCHEDULER_SECURITY_JOIN_TOKEN: await joinToken('scheduler', 1),
    })
    seed = await startDaemon(join(dir.path, 'seed'), {
      args: ['--seed', '--manager', manager.grpcAddress, '--join-token', await joinToken('seed', 1)],
      env: { ...ALLOW_LOOPBACK_ORIGINS, ...DAEMON_ENV, DFDAEMON_HOST_HOSTNAME: 'seed' },
    })
    const normal = await joinToken('normal', 2)
    for (const name of ['daemon-a', 'daemon-b']) {
      daemons.push(await startDaemon(join(dir.path, name), { args: ['--manager', manager.grpcAddress, '--join-token', normal], env: { ...DAEMON_ENV, DFDAEMON_HOST_HOSTNAME: name } }))
    }
  })

  after(async () => {
    await Promise.all(daemons.map((daemon) => daemon.stop()))
    await seed?.stop()
    await scheduler?.stop()
    await manager?.stop()
    await (origin as OriginServer | undefined)?.close()
    await (dir as typeof dir | undefined)?.remove()
  })

  async function download(daemon: DaemonProcess, path: string, content: Content): Promise<void> {
    const output = join(dir.path, `${path.replaceAll('/', '_')}-${daemons.indexOf(daemon)}`)
    const result = await dfget([origin.serve(path, content), '-O', output, '-e', daemon.socketPath, '--no-progress'], { timeoutMs: 120_000 })
    assert.equal(result.code, 0, result.stderr)
    assert.equal(await sha256File(output), content.sha256)
  }

  it('certifies every part with a token from the API, and a revoked daemon is refused by its scheduler within a minute, so it gets nothing from peers', { timeout: 240_000 }, async () => {
    const certificates = await api<CertificateJson[]>('GET', '/api/v1/certificates')
    assert.deepEqual(certificates.map((certificate) => certificate.role).sort(), ['normal', 'normal', 'scheduler', 'seed'], 'every part joined with its token')
    const [daemonA, daemonB] = daemons as [DaemonProcess, DaemonProcess]
    const first = await makeRandomFile(join(dir.path, 'first.bin'), 8 * MiB)
    await download(daemonA, '/join/first', first)
    await download(daemonB, '/join/first', first)
    assert.equal((await origin.settledStatsOf('/join/first')).bodyBytesSent, first.length, 'the origin sent the file once, to the seed')
    const metricsB = daemonB.metricsAddress()
    assert.equal(await metricValue(metricsB, REMOTE), first.length, 'daemon B took it from peers')

    const victim = certificates.find((certificate) => certificate.hostname === 'daemon-b')
    assert.ok(victim, JSON.stringify(certificates))
    const revokedAtMs = performance.now()
    const revoked = await api<CertificateJson>('POST', `/api/v1/certificates/${victim.host_id}/revoke`)
    assert.notEqual(revoked.revoked_at, null)
    const schedulerLog = join(dir.path, 'scheduler', 'scheduler.log')
    await waitFor(() => readFileSync(schedulerLog, 'utf8').split('\n').some((line) => line.includes('hosts revoked') && line.includes(victim.host_id)), 'the scheduler to learn of the revocation', REVOCATION_DEADLINE_MS)
    const elapsedMs = performance.now() - revokedAtMs
    assert.ok(elapsedMs < REVOCATION_DEADLINE_MS, `the scheduler refused the host ${Math.round(elapsedMs)} ms after the revocation`)

    // The seed holds the next file; B may not register for it, so it goes to the origin itself.
    const second = await makeRandomFile(join(dir.path, 'second.bin'), 8 * MiB)
    await download(daemonA, '/join/second', second)
    const sourceBefore = await metricValue(metricsB, SOURCE, { absent: 0 })
    await download(daemonB, '/join/second', second)
    assert.equal(await metricValue(metricsB, REMOTE), first.length, 'nothing more from peers')
    assert.equal(await metricValue(metricsB, SOURCE, { absent: 0 }) - sourceBefore, second.length, 'all of it from the origin')
    assert.match(readFileSync(daemonB.logPath, 'utf8'), /is revoked/, 'daemon B was told why')
  })
})

/** host.crt of a process's identity directory. */
function certificateIn(identityDir: string): string {
  return readFileSync(join(identityDir, 'host.crt'), 'utf8')
}

/**
 * Certificates that last 20 s: the scheduler, the seed peer and a daemon renew theirs without a
 * restart, and once the first ones have expired P2P still works, which needs every port to show
 * its renewed certificate: the seed's upload server to the daemon, the capabilities the
 * scheduler signs (they carry its certificate), and new connections.
 */
describe('certificates from the manager are renewed before they expire', { timeout: 180_000 }, () => {
  let dir!: Awaited<ReturnType<typeof tempDir>>
  let origin!: OriginServer
  let manager: ManagerProcess | undefined
  let scheduler: SchedulerProcess | undefined
  let seed: DaemonProcess | undefined
  let daemon: DaemonProcess | undefined

  before(async () => {
    dir = await tempDir('manager-renewal')
    origin = await OriginServer.start()
    manager = await startManager(join(dir.path, 'manager'), {
      env: { DAMSELFLY_ROOT_PASSWORD: ROOT_PASSWORD, MANAGER_KEEPALIVE_INTERVAL: '1s', MANAGER_KEEPALIVE_TIMEOUT: '4s', MANAGER_SECURITY_CERTIFICATE_VALIDITY: '20s' },
    })
  })

  after(async () => {
    await daemon?.stop()
    await seed?.stop()
    await scheduler?.stop()
    await manager?.stop()
    await (origin as OriginServer | undefined)?.close()
    await (dir as typeof dir | undefined)?.remove()
  })

  it('renews every part\'s certificate at two thirds of its life, and P2P works after the first ones expired', { timeout: 150_000 }, async () => {
    const rest = manager?.restAddress ?? ''
    const signin = await fetch(`http://${rest}/api/v1/users/signin`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'root', password: ROOT_PASSWORD }) })
    const bearer = ((await signin.json()) as { token: string }).token
    const joinToken = async (role: string): Promise<string> => {
      const response = await fetch(`http://${rest}/api/v1/join-tokens`, { method: 'POST', headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' }, body: JSON.stringify({ role, uses: 1 }) })
      assert.equal(response.status, 201)
      return ((await response.json()) as { token: string }).token
    }
    const grpc = manager?.grpcAddress ?? ''
    const schedulerDir = join(dir.path, 'scheduler')
    scheduler = await startScheduler(schedulerDir, {
      SCHEDULER_MANAGER_ADDRS: grpc, SCHEDULER_MANAGER_KEEP_ALIVE_INTERVAL: '1s',
      SCHEDULER_SECURITY_IDENTITY_DIR: join(schedulerDir, 'identity'), SCHEDULER_SECURITY_JOIN_TOKEN: await joinToken('scheduler'),
    })
    seed = await startDaemon(join(dir.path, 'seed'), { args: ['--seed', '--manager', grpc, '--join-token', await joinToken('seed')], env: { ...ALLOW_LOOPBACK_ORIGINS, ...DAEMON_ENV, DFDAEMON_HOST_HOSTNAME: 'seed' } })
    daemon = await startDaemon(join(dir.path, 'daemon'), { args: ['--manager', grpc, '--join-token', await joinToken('normal')], env: { ...DAEMON_ENV, DFDAEMON_HOST_HOSTNAME: 'daemon' } })
    const identityDirs = [join(schedulerDir, 'identity'), join(seed.dataDir, 'identity'), join(daemon.dataDir, 'identity')]
    const first = identityDirs.map(certificateIn)
    const firstExpiryMs = Math.max(...first.map((pem) => Date.parse(new X509Certificate(pem).validTo)))
    await waitFor(() => identityDirs.every((identityDir, index) => certificateIn(identityDir) !== first[index]), 'every part to renew its certificate', 40_000)
    for (const identityDir of identityDirs) assert.ok(Date.parse(new X509Certificate(certificateIn(identityDir)).validTo) > firstExpiryMs, `${identityDir}: a later expiry`)
    await waitFor(() => Date.now() > firstExpiryMs + 1_000, 'the first certificates to expire', 30_000)

    const content = await makeRandomFile(join(dir.path, 'renewed.bin'), 4 * MiB)
    const url = origin.serve('/renewal/content', content)
    const output = join(dir.path, 'renewed.out')
    const result = await dfget([url, '-O', output, '-e', daemon.socketPath, '--no-progress'], { timeoutMs: 60_000 })
    assert.equal(result.code, 0, result.stderr)
    assert.equal(await sha256File(output), content.sha256)
    assert.equal(await metricValue(daemon.metricsAddress(), REMOTE), content.length, 'from the seed, over connections with the renewed certificates')
  })
})
