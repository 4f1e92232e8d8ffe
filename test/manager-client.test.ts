import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { credentials, type ChannelCredentials } from '@grpc/grpc-js'
import { systemClock } from '../src/common/clock.js'
import { silentLogger } from '../src/common/logger.js'
import { resolveManagerConfig } from '../src/manager/config.js'
import { Manager } from '../src/manager/manager.js'
import { HostReporter } from '../src/manager-client/host-reporter.js'
import { ManagerConnection } from '../src/manager-client/manager-connection.js'
import { MemberKeepalive } from '../src/manager-client/member-keepalive.js'
import { SchedulerDiscovery, type DiscoveredCluster } from '../src/manager-client/scheduler-discovery.js'
import { toDamselflyError } from '../src/protocol/damselfly-error.js'
import { SourceType, type ClusterConfig, type ListSchedulersResponse, type RegisterSchedulerRequest, type RegisterSchedulerResponse } from '../src/protocol/generated/damselfly/manager/v1/manager.js'
import { MANAGER_CHANNEL_OPTIONS, managerChannelCredentials } from '../src/security/grpc-tls.js'
import type { LocalIdentity } from '../src/security/local-identity.js'
import { testIdentity } from '../src/security/security-fixtures.js'
import { waitFor } from './support/processes.js'

const TIMEOUT = { timeout: 60_000 }
const KEEPALIVE = { interval: '500ms', timeout: '2s' }

/** A port nothing listens on: bound, then let go. */
async function deadAddress(): Promise<string> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise((resolve) => server.close(resolve))
  return `127.0.0.1:${port}`
}

/** A manager on port 0; `insecure` for the tests of the client's own logic, over plaintext. */
async function startManager(dataDir: string, options: { insecure: boolean }): Promise<Manager> {
  const config = resolveManagerConfig({ flags: { server: { dataDir, rest: { listenIP: '127.0.0.1', port: 0 }, grpc: { listenIP: '127.0.0.1', port: 0 } }, keepalive: KEEPALIVE, security: { insecure: options.insecure } } })
  const manager = new Manager(config, { logger: silentLogger() })
  await manager.start()
  return manager
}

function connect(addresses: readonly string[], channel: ChannelCredentials = credentials.createInsecure()): ManagerConnection {
  return new ManagerConnection({ addresses, credentials: channel, channelOptions: MANAGER_CHANNEL_OPTIONS, callTimeoutMs: 2_000 })
}

function schedulerRequest(overrides: Partial<RegisterSchedulerRequest> = {}): RegisterSchedulerRequest {
  return { hostname: 'sched-1', ip: '127.0.0.1', port: 8002, idc: '', location: '', features: [], hostId: '', clusterId: 0, ...overrides }
}

function schedulerKeepalive(connection: ManagerConnection, configs: ClusterConfig[], request = schedulerRequest()): MemberKeepalive {
  return new MemberKeepalive(
    { connection, clock: systemClock, logger: silentLogger(), onConfig: (config) => configs.push(config) },
    {
      sourceType: 'scheduler',
      hostname: request.hostname,
      ip: request.ip,
      intervalMs: 200,
      register: async (manager, signal) => {
        const answer = await manager.call<RegisterSchedulerResponse>('register scheduler', (client, metadata, options, callback) => client.registerScheduler(request, metadata, options, callback), signal)
        return { clusterId: answer.scheduler?.clusterId ?? 0, config: answer.config }
      },
    },
  )
}

function discovery(connection: ManagerConnection, found: DiscoveredCluster[]): SchedulerDiscovery {
  return new SchedulerDiscovery(
    { connection, clock: systemClock, logger: silentLogger(), onChange: (cluster) => found.push(cluster) },
    { intervalMs: 200, host: () => ({ hostname: 'node-1', ip: '127.0.0.1', idc: '', location: '', version: 'test', hostId: '' }) },
  )
}

describe('manager client against a real manager', TIMEOUT, () => {
  let dir: string
  let manager: Manager
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'damselfly-manager-client-'))
    manager = await startManager(dir, { insecure: true })
  })
  after(async () => {
    await manager.stop()
    await rm(dir, { recursive: true, force: true })
  })

  it('registers, keeps alive, brings a changed cluster config, and registers again when the manager forgot it', TIMEOUT, async () => {
    // The first manager listed is down: every call goes on to the next.
    const connection = connect([await deadAddress(), manager.grpcAddressBound ?? ''])
    const configs: ClusterConfig[] = []
    const keepalive = schedulerKeepalive(connection, configs)
    await keepalive.start()
    try {
      await waitFor(() => keepalive.clusterId !== undefined && configs.length === 1, 'the registration')
      assert.equal(configs[0]?.candidateParentLimit, 4)
      const cluster = await manager.clusters.update(keepalive.clusterId ?? 0, { config: { scheduler_cluster_config: { candidate_parent_limit: 7 }, blocklist: { applications: ['nightly'] } } })
      await waitFor(() => configs.length === 2, 'the changed config', 5_000)
      assert.equal(configs[1]?.candidateParentLimit, 7)
      assert.deepEqual(configs[1]?.blocklist?.applications, ['nightly'])
      assert.equal(configs[1]?.version, cluster.updatedAtMs)
      const before = await manager.schedulers.list()
      assert.equal(before.length, 1)
      await manager.database.db.deleteFrom('schedulers').execute()
      await waitFor(async () => (await manager.schedulers.list()).length === 1, 'the registration again')
    } finally {
      await keepalive.stop()
      connection.close()
    }
  })

  it('lists a live scheduler to daemons, and drops it once it stops keeping alive', TIMEOUT, async () => {
    const member = connect([manager.grpcAddressBound ?? ''])
    const keepalive = schedulerKeepalive(member, [], schedulerRequest({ hostname: 'sched-2', port: 9002 }))
    await keepalive.start()
    await waitFor(() => keepalive.clusterId !== undefined, 'the registration')
    const daemon = connect([manager.grpcAddressBound ?? ''])
    const found: DiscoveredCluster[] = []
    const watcher = discovery(daemon, found)
    await watcher.start()
    try {
      await waitFor(() => found.at(-1)?.schedulers.includes('127.0.0.1:9002') === true, 'the scheduler listed')
      await keepalive.stop()
      const stoppedAt = Date.now()
      await waitFor(() => found.at(-1)?.schedulers.includes('127.0.0.1:9002') === false, 'the scheduler dropped', 10_000)
      assert.ok(Date.now() - stoppedAt >= 1_000, 'not before the keepalive timeout')
      await waitFor(async () => (await manager.schedulers.list()).find((s) => s.hostname === 'sched-2')?.state === 'inactive', 'the sweep to mark it inactive', 5_000)
    } finally {
      await watcher.stop()
      await keepalive.stop()
      member.close()
      daemon.close()
    }
  })

  it('takes the hosts a registered scheduler reports', TIMEOUT, async () => {
    const connection = connect([manager.grpcAddressBound ?? ''])
    const keepalive = schedulerKeepalive(connection, [], schedulerRequest({ hostname: 'sched-3' }))
    const reporter = new HostReporter(
      {
        connection,
        clock: systemClock,
        logger: silentLogger(),
        hosts: () => [{ hostId: 'h-1', hostname: 'node-1', ip: '127.0.0.2', port: 65002, idc: '', location: '', version: '', os: '', type: 'seed' }],
        reporter: () => ({ hostname: 'sched-3', ip: '127.0.0.1', clusterId: keepalive.clusterId }),
      },
      { intervalMs: 60_000, minGapMs: 10 },
    )
    await keepalive.start()
    await reporter.start()
    try {
      await waitFor(() => keepalive.clusterId !== undefined, 'the registration')
      reporter.changed()
      await waitFor(async () => (await manager.hosts.list(keepalive.clusterId ?? 0)).length === 1, 'the report')
      assert.equal((await manager.hosts.list(keepalive.clusterId ?? 0))[0]?.type, 'seed')
    } finally {
      await reporter.stop()
      await keepalive.stop()
      connection.close()
    }
  })

  it('refuses a malformed registration with INVALID_ARGUMENT naming the fields', TIMEOUT, async () => {
    const connection = connect([manager.grpcAddressBound ?? ''])
    try {
      const request = schedulerRequest({ hostname: '', ip: 'nowhere', port: 0 })
      const error = await connection.call('register scheduler', (client, metadata, options, callback) => client.registerScheduler(request, metadata, options, callback), AbortSignal.timeout(5_000)).then(() => undefined, toDamselflyError)
      assert.equal(error?.code, 'INVALID_ARGUMENT')
      assert.match(error?.message ?? '', /hostname is missing.*ip is not an IP address.*port/)
      const keepalive = { sourceType: SourceType.SOURCE_TYPE_SCHEDULER, hostname: 'ghost', ip: '127.0.0.1', clusterId: 1 }
      const unknown = await connection.call('keepalive', (client, metadata, options, callback) => client.keepAlive(keepalive, metadata, options, callback), AbortSignal.timeout(5_000)).then(() => undefined, toDamselflyError)
      assert.equal(unknown?.code, 'NOT_FOUND')
    } finally {
      connection.close()
    }
  })

  it('says MANAGER_UNAVAILABLE when no manager answers', TIMEOUT, async () => {
    const connection = connect([await deadAddress(), await deadAddress()])
    try {
      const error = await connection.call('list schedulers', (client, metadata, options, callback) => client.listSchedulers({ hostname: '', ip: '', idc: '', location: '', version: '', hostId: '' }, metadata, options, callback), AbortSignal.timeout(5_000)).then(() => undefined, toDamselflyError)
      assert.equal(error?.code, 'MANAGER_UNAVAILABLE')
    } finally {
      connection.close()
    }
  })
})

describe('manager client over mutual TLS', TIMEOUT, () => {
  let dir: string
  let manager: Manager
  let scheduler: LocalIdentity
  let seed: LocalIdentity
  let normal: LocalIdentity
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'damselfly-manager-tls-'))
    manager = await startManager(dir, { insecure: false })
    const ca = manager.clusterCa.signer
    scheduler = await testIdentity(ca, 'scheduler')
    seed = await testIdentity(ca, 'seed')
    normal = await testIdentity(ca, 'normal')
  })
  after(async () => {
    await manager.stop()
    await rm(dir, { recursive: true, force: true })
  })

  async function register(identity: LocalIdentity | undefined, request: RegisterSchedulerRequest): Promise<string | undefined> {
    const connection = connect([manager.grpcAddressBound ?? ''], identity === undefined ? credentials.createInsecure() : managerChannelCredentials(identity))
    try {
      await connection.call('register scheduler', (client, metadata, options, callback) => client.registerScheduler(request, metadata, options, callback), AbortSignal.timeout(5_000))
      return undefined
    } catch (error) {
      return toDamselflyError(error).code
    } finally {
      connection.close()
    }
  }

  it('lets a scheduler certificate register a scheduler, and no other', TIMEOUT, async () => {
    assert.equal(await register(scheduler, schedulerRequest({ hostId: scheduler.identity.hostId })), undefined)
    assert.equal(await register(normal, schedulerRequest()), 'PERMISSION_DENIED')
    assert.equal(await register(seed, schedulerRequest()), 'PERMISSION_DENIED')
    assert.equal(await register(scheduler, schedulerRequest({ hostId: normal.identity.hostId })), 'PERMISSION_DENIED', 'another host\'s id')
    assert.equal(await register(scheduler, schedulerRequest({ ip: '10.9.9.9' })), 'PERMISSION_DENIED', 'an address the certificate does not carry')
    assert.equal(await register(undefined, schedulerRequest()), 'MANAGER_UNAVAILABLE', 'no TLS: no connection')
    const metrics = await manager.registry.metrics()
    assert.match(metrics, /damselfly_manager_grpc_requests_total\{method="register_scheduler",code="OK"\} 1/)
    assert.match(metrics, /damselfly_manager_grpc_requests_total\{method="register_scheduler",code="PERMISSION_DENIED"\} 4/)
  })

  it('lists schedulers to any host of the cluster', TIMEOUT, async () => {
    const found: DiscoveredCluster[] = []
    const connection = connect([manager.grpcAddressBound ?? ''], managerChannelCredentials(normal))
    const watcher = discovery(connection, found)
    await watcher.start()
    try {
      await waitFor(() => found.at(-1)?.schedulers.includes('127.0.0.1:8002') === true, 'the scheduler listed')
    } finally {
      await watcher.stop()
      connection.close()
    }
  })

  it('refuses a revoked host\'s calls, and never lists a revoked scheduler', TIMEOUT, async () => {
    const revokedScheduler = await testIdentity(manager.clusterCa.signer, 'scheduler')
    const request = schedulerRequest({ hostname: 'sched-revoked', port: 8003, hostId: revokedScheduler.identity.hostId })
    assert.equal(await register(revokedScheduler, request), undefined)
    const list = async (): Promise<string[]> => {
      const connection = connect([manager.grpcAddressBound ?? ''], managerChannelCredentials(normal))
      try {
        const answer = await connection.call<ListSchedulersResponse>('list schedulers', (client, metadata, options, callback) =>
          client.listSchedulers({ hostname: 'node-1', ip: '127.0.0.1', idc: '', location: '', version: 'test', hostId: '' }, metadata, options, callback), AbortSignal.timeout(5_000))
        return answer.schedulers.map((listed) => `${listed.ip}:${listed.port}`)
      } finally {
        connection.close()
      }
    }
    assert.ok((await list()).includes('127.0.0.1:8003'), 'listed while in good standing')
    await manager.certificates.record({ identity: revokedScheduler.identity, clusterId: 0, notAfterMs: Date.now() + 3_600_000 })
    await manager.certificates.revoke(revokedScheduler.identity.hostId, 'test')
    assert.deepEqual((await list()).filter((address) => address === '127.0.0.1:8003'), [], 'a revoked scheduler is never handed to a daemon')
    assert.ok((await list()).includes('127.0.0.1:8002'), 'the others still are')
    assert.equal(await register(revokedScheduler, request), 'PERMISSION_DENIED', 'its own calls are refused')
  })
})
