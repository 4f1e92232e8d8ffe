import assert from 'node:assert/strict'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { silentLogger } from '../src/common/logger.js'
import { resolveManagerConfig } from '../src/manager/config.js'
import { Manager } from '../src/manager/manager.js'
import { DEFAULT_FILTERED_QUERY_PARAMS, taskIdFor } from '../src/protocol/task-id.js'
import { initClusterPki } from '../src/security/cluster-pki.js'
import { MiB, sha256File, tempDir } from './support/files.js'
import { makeRandomFile, OriginServer, type Content } from './support/origin-server.js'
import { ALLOW_LOOPBACK_ORIGINS, dfget, startDaemon, startScheduler, waitFor, type DaemonProcess } from './support/processes.js'

const ROOT_PASSWORD = 'console-live-root-1'
const KEEPALIVE = { interval: '1s', timeout: '4s' }
const DAEMON_ENV = { ...ALLOW_LOOPBACK_ORIGINS, DFDAEMON_MANAGER_REFRESH_INTERVAL: '1s', DFDAEMON_MANAGER_SEED_PEER_KEEP_ALIVE_INTERVAL: '1s' }

interface SwarmJson {
  task_id: string
  cluster_id: number
  scheduler: { host_name: string }
  content_length: number
  total_pieces: number
  peers: Array<{ id: string; hostname: string; type: string; state: string; finished_pieces: number; bytes_from_peers: number; bytes_from_origin: number; uploaded_bytes: number; back_to_source_reason: string | null }>
  edges: Array<{ parent: string; child: string; bytes: number; pieces: number }>
  totals: { bytes_from_peers: number; bytes_from_origin: number; bytes_from_seed_peers: number }
  truncated: boolean
}

interface OverviewJson {
  schedulers: { asked: number; answered: number }
  totals: Record<string, number> & { back_to_source_reasons: Array<{ reason: string; count: number }> }
  buckets: Array<{ at: string; bytes_from_peers: number }>
}

/**
 * A manager (in process), a scheduler, a seed peer and two daemons with identities from one
 * cluster CA: a file goes through the daemons one after the other, and the console's routes say
 * who fed whom, how many bytes came from the origin, and what the cluster's hour looks like.
 */
describe('console data: a task\'s swarm and the cluster overview from a real scheduler', { timeout: 120_000 }, () => {
  let dir!: Awaited<ReturnType<typeof tempDir>>
  let origin!: OriginServer
  let manager!: Manager
  let content!: Content
  const daemons: DaemonProcess[] = []
  const stops: Array<() => Promise<void>> = []
  let root = ''

  // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- the caller names the JSON it expects
  async function api<T>(path: string): Promise<{ status: number; json: T }> {
    const response = await fetch(`http://${manager.address ?? ''}${path}`, { headers: { authorization: `Bearer ${root}` } })
    return { status: response.status, json: await response.json() as T }
  }

  before(async () => {
    dir = await tempDir('console-live')
    const pkiDir = join(dir.path, 'pki')
    await initClusterPki(pkiDir)
    origin = await OriginServer.start()
    stops.push(() => origin.close())
    content = await makeRandomFile(join(dir.path, 'content.bin'), 8 * MiB)
    const config = resolveManagerConfig({
      flags: {
        server: { dataDir: join(dir.path, 'manager'), rest: { listenIP: '127.0.0.1', port: 0 }, grpc: { listenIP: '127.0.0.1', port: 0 } },
        keepalive: KEEPALIVE,
        security: { importPkiDir: pkiDir },
        auth: { rootPassword: ROOT_PASSWORD },
      },
    })
    manager = new Manager(config, { logger: silentLogger() })
    await manager.start()
    stops.push(() => manager.stop())
    const managerGrpc = manager.grpcAddressBound ?? ''
    const scheduler = await startScheduler(join(dir.path, 'scheduler'), { SCHEDULER_MANAGER_ADDRS: managerGrpc, SCHEDULER_MANAGER_KEEP_ALIVE_INTERVAL: '1s' }, { pkiDir })
    stops.push(() => scheduler.stop())
    daemons.push(await startDaemon(join(dir.path, 'seed-0'), { cluster: { pkiDir }, args: ['--seed', '--manager', managerGrpc], env: { ...DAEMON_ENV, DFDAEMON_HOST_HOSTNAME: 'seed-0' } }))
    for (let i = 0; i < 2; i++) {
      daemons.push(await startDaemon(join(dir.path, `peer-${i}`), { cluster: { pkiDir }, args: ['--manager', managerGrpc], env: { ...DAEMON_ENV, DFDAEMON_HOST_HOSTNAME: `peer-${i}` } }))
    }
    stops.push(async () => {
      await Promise.all(daemons.map((daemon) => daemon.stop()))
    })
    const signedIn = await fetch(`http://${manager.address ?? ''}/api/v1/users/signin`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'root', password: ROOT_PASSWORD }) })
    root = (await signedIn.json() as { token: string }).token
    const clusterId = (await manager.clusters.ensureDefault()).id
    await waitFor(async () => (await manager.hosts.list(clusterId)).length === 3, 'the scheduler to report all three hosts', 30_000)
  }, { timeout: 60_000 })

  after(async () => {
    for (const stop of stops.reverse()) await stop().catch(() => undefined)
    await (dir as typeof dir | undefined)?.remove()
  })

  it('shows the seed fetching from the origin, each daemon fed by peers byte for byte, and the hour\'s totals', { timeout: 60_000 }, async () => {
    const url = origin.serve('/files/live', content)
    const taskId = taskIdFor({ url, filteredQueryParams: DEFAULT_FILTERED_QUERY_PARAMS })
    for (const [i, daemon] of daemons.slice(1).entries()) {
      const output = join(dir.path, `out-${i}.bin`)
      const result = await dfget([url, '-O', output, '-e', daemon.socketPath, '--no-progress'], { timeoutMs: 30_000 })
      assert.equal(result.code, 0, result.stderr)
      assert.equal(await sha256File(output), content.sha256)
    }
    const size = content.length
    let swarm!: SwarmJson
    // The seed's last report may follow the daemons' ends by a moment.
    await waitFor(async () => {
      const answer = await api<SwarmJson>(`/api/v1/tasks/${taskId}/swarm`)
      assert.equal(answer.status, 200, JSON.stringify(answer.json))
      swarm = answer.json
      return swarm.peers.length === 3 && swarm.peers.every((peer) => peer.state === 'succeeded') && swarm.totals.bytes_from_origin === size
    }, 'every peer of the swarm to succeed', 20_000)
    assert.equal(swarm.task_id, taskId)
    assert.equal(swarm.content_length, size)
    assert.equal(swarm.truncated, false)
    const seed = swarm.peers.find((peer) => peer.type === 'seed')
    assert.ok(seed !== undefined, JSON.stringify(swarm.peers))
    assert.equal(seed.hostname, 'seed-0')
    assert.equal(seed.bytes_from_origin, size, 'the seed fetched the whole file from the origin')
    assert.equal(seed.back_to_source_reason, 'seed_peer')
    assert.equal(seed.finished_pieces, swarm.total_pieces)
    for (const child of swarm.peers.filter((peer) => peer.type === 'normal')) {
      const fed = swarm.edges.filter((edge) => edge.child === child.id)
      assert.equal(child.bytes_from_origin, 0, `${child.hostname} took nothing from the origin`)
      assert.equal(child.bytes_from_peers, size, `${child.hostname} got every byte from peers`)
      assert.equal(fed.reduce((sum, edge) => sum + edge.bytes, 0), child.bytes_from_peers, `${child.hostname}: its edges carry what it got`)
      assert.equal(fed.reduce((sum, edge) => sum + edge.pieces, 0), swarm.total_pieces)
    }
    assert.ok(swarm.edges.some((edge) => edge.parent === seed.id && edge.bytes > 0), 'the seed fed a daemon')
    const uploaded = swarm.peers.reduce((sum, peer) => sum + peer.uploaded_bytes, 0)
    assert.equal(uploaded, 2 * size, 'what the parents sent is what the children got')
    assert.deepEqual(swarm.totals, { bytes_from_peers: 2 * size, bytes_from_origin: size, bytes_from_seed_peers: swarm.edges.filter((edge) => edge.parent === seed.id).reduce((sum, edge) => sum + edge.bytes, 0) })
    assert.ok((await origin.settledStatsOf('/files/live')).bodyBytesSent <= size * 1.05, 'the origin sent the file about once')

    const overview = await api<OverviewJson>(`/api/v1/clusters/${swarm.cluster_id}/overview`)
    assert.equal(overview.status, 200, JSON.stringify(overview.json))
    const { totals } = overview.json
    assert.deepEqual(overview.json.schedulers, { asked: 1, answered: 1 })
    assert.deepEqual([totals['bytes_from_peers'], totals['bytes_from_origin'], totals['bytes_from_seed_peers']], [2 * size, size, swarm.totals.bytes_from_seed_peers])
    assert.deepEqual([totals['tasks_started'], totals['tasks_finished'], totals['peers_started'], totals['peers_finished'], totals['peers_failed']], [1, 1, 3, 3, 0])
    assert.deepEqual(totals.back_to_source_reasons, [{ reason: 'seed_peer', count: 1 }])
    assert.equal(overview.json.buckets.length, 60)
    assert.equal(overview.json.buckets.reduce((sum, bucket) => sum + bucket.bytes_from_peers, 0), 2 * size)

    const clusters = await api<Array<{ members: unknown }>>('/api/v1/clusters')
    assert.deepEqual(clusters.json[0]?.members, { active_schedulers: 1, active_seed_peers: 1, hosts: 3 })
    const versions = await api<Array<{ version: string; count: number }>>('/api/v1/hosts/versions')
    assert.deepEqual(versions.json.map((entry) => entry.count), [3])
    assert.equal((await api(`/api/v1/tasks/${'0'.repeat(64)}/swarm`)).status, 404)
  })
})
