import assert from 'node:assert/strict'
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { silentLogger } from '../src/common/logger.js'
import { resolveManagerConfig } from '../src/manager/config.js'
import { Manager } from '../src/manager/manager.js'
import { initClusterPki } from '../src/security/cluster-pki.js'
import { startContainerd } from './support/containerd.js'
import { MiB, sha256File, tempDir } from './support/files.js'
import { generateImage, pushImage, type OciImage } from './support/oci-image.js'
import { makeRandomFile, OriginServer } from './support/origin-server.js'
import {
  ALLOW_LOOPBACK_ORIGINS, cliPath, run, startDaemon, startScheduler, waitFor, type DaemonProcess, type SchedulerProcess,
} from './support/processes.js'
import { startRegistry, type RegistryProcess, type RegistryRequest } from './support/registry.js'
import { startTokenServer, type TokenServer } from './support/token-server.js'

const ROOT_PASSWORD = 'jobs-root-password-1'
const CREDS = { user: 'puller', password: 'pull-secret-5c1e' } as const
const PRIVATE_REPO = 'team/private'
const PUBLIC_REPO = 'library/app'
const TAG = 'v1'
const KEEPALIVE = { interval: '1s', timeout: '4s' }
const DAEMON_ENV = { ...ALLOW_LOOPBACK_ORIGINS, DFDAEMON_MANAGER_REFRESH_INTERVAL: '1s', DFDAEMON_MANAGER_SEED_PEER_KEEP_ALIVE_INTERVAL: '1s' }

interface JobJson {
  id: number
  type: string
  state: string
  phase: string
  error: string
  result: null | {
    job_states: Array<{
      state: string
      error: string
      results: Array<{
        scheduler_cluster_id: number
        success_tasks?: Array<{ url: string; hostname: string; ip: string }>
        failure_tasks?: Array<{ url: string; hostname: string; ip: string; description: string }>
        peers?: Array<{ hostname: string; ip: string; host_type: string; state: string }>
      }>
    }>
  }
}

interface HostRowJson {
  hostname: string
  state: string
  code: string
  description: string
  completed_bytes: number
  content_length: number
}

/**
 * A manager (in process), a scheduler, two seed peers and three daemons, all with identities from
 * one cluster CA; a private registry behind token auth, a public one and an HTTP origin. Jobs go
 * through the manager's REST API exactly as a user, a script or Harbor would send them.
 */
describe('jobs: preheat, distribution and task management through the manager', { timeout: 900_000 }, () => {
  let dir!: Awaited<ReturnType<typeof tempDir>>
  let tokens!: TokenServer
  let privateRegistry!: RegistryProcess
  let publicRegistry!: RegistryProcess
  let privateImage!: OciImage
  let publicImage!: OciImage
  let origin!: OriginServer
  let manager!: Manager
  let scheduler!: SchedulerProcess
  const seeds: DaemonProcess[] = []
  const peers: DaemonProcess[] = []
  let root = ''
  let managerGrpc = ''
  let pkiDir = ''
  const stops: Array<() => Promise<void>> = []

  const rest = (): string => `http://${manager.address ?? ''}`

  // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- the caller names the JSON it expects
  async function api<T>(method: string, path: string, body?: unknown, headers: Record<string, string> = { authorization: `Bearer ${root}` }): Promise<{ status: number; json: T }> {
    const response = await fetch(`${rest()}${path}`, {
      method,
      headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    })
    const text = await response.text()
    return { status: response.status, json: (text === '' ? undefined : JSON.parse(text)) as T }
  }

  async function createJob(body: unknown): Promise<JobJson> {
    const created = await api<JobJson>('POST', '/api/v1/jobs', body)
    assert.equal(created.status, 200, JSON.stringify(created.json))
    return created.json
  }

  async function finished(id: number, timeoutMs = 120_000): Promise<JobJson> {
    let job: JobJson | undefined
    await waitFor(async () => {
      job = (await api<JobJson>('GET', `/api/v1/jobs/${id}`)).json
      return job.state !== 'PENDING'
    }, `job ${id} to finish`, timeoutMs)
    return job!
  }

  async function hostRows(id: number): Promise<HostRowJson[]> {
    return (await api<HostRowJson[]>('GET', `/api/v1/jobs/${id}/hosts?per_page=1000`)).json
  }

  function successes(job: JobJson): Array<{ url: string; hostname: string }> {
    return job.result?.job_states.flatMap((state) => state.results.flatMap((result) => result.success_tasks ?? [])) ?? []
  }

  function failures(job: JobJson): Array<{ url: string; hostname: string; description: string }> {
    return job.result?.job_states.flatMap((state) => state.results.flatMap((result) => result.failure_tasks ?? [])) ?? []
  }

  /** A daemon; started again, it keeps its identity, and so its host id, as a real host does. */
  async function startPeer(i: number, again = false): Promise<DaemonProcess> {
    // The operator makes the directory a daemon may write distributions to.
    await mkdir(join(dir.path, `out-${i}`), { recursive: true })
    const home = join(dir.path, `peer-${i}`)
    return startDaemon(home, {
      ...(again ? {} : { cluster: { pkiDir } }),
      args: ['--manager', managerGrpc, '--registry-mirror', privateRegistry.url, ...(again ? ['--identity-dir', join(home, 'identity')] : [])],
      env: { ...DAEMON_ENV, DFDAEMON_HOST_HOSTNAME: `peer-${i}`, DFDAEMON_DISTRIBUTION_OUTPUT_DIR: join(dir.path, `out-${i}`) },
    })
  }

  before(async () => {
    dir = await tempDir('jobs')
    pkiDir = join(dir.path, 'pki')
    await initClusterPki(pkiDir)
    tokens = await startTokenServer(join(dir.path, 'tokens'), CREDS)
    stops.push(() => tokens.close())
    privateRegistry = await startRegistry(join(dir.path, 'private-registry'), { token: { realm: tokens.realm, service: tokens.service, issuer: tokens.issuer, certPath: tokens.certPath } })
    stops.push(() => privateRegistry.stop())
    publicRegistry = await startRegistry(join(dir.path, 'public-registry'))
    stops.push(() => publicRegistry.stop())
    privateImage = await generateImage(join(dir.path, 'private-image'), TAG, [2, 3])
    await pushImage(privateImage.layoutDir, TAG, privateRegistry.host, PRIVATE_REPO, CREDS)
    publicImage = await generateImage(join(dir.path, 'public-image'), TAG, [2, 3])
    await pushImage(publicImage.layoutDir, TAG, publicRegistry.host, PUBLIC_REPO)
    origin = await OriginServer.start()
    stops.push(() => origin.close())

    const config = resolveManagerConfig({
      flags: {
        server: { dataDir: join(dir.path, 'manager'), rest: { listenIP: '127.0.0.1', port: 0 }, grpc: { listenIP: '127.0.0.1', port: 0 } },
        keepalive: KEEPALIVE,
        security: { importPkiDir: pkiDir },
        auth: { rootPassword: ROOT_PASSWORD },
        // The registries are on loopback, which the manager refuses to resolve images from by default.
        preheat: { sourcePolicy: { allow: ['127.0.0.1/32'] } },
      },
    })
    manager = new Manager(config, { logger: silentLogger() })
    await manager.start()
    stops.push(() => manager.stop())
    managerGrpc = manager.grpcAddressBound ?? ''
    scheduler = await startScheduler(join(dir.path, 'scheduler'), { SCHEDULER_MANAGER_ADDRS: managerGrpc, SCHEDULER_MANAGER_KEEP_ALIVE_INTERVAL: '1s' }, { pkiDir })
    stops.push(() => scheduler.stop())
    for (let i = 0; i < 2; i++) {
      seeds.push(await startDaemon(join(dir.path, `seed-${i}`), {
        cluster: { pkiDir },
        args: ['--seed', '--manager', managerGrpc, '--registry-mirror', privateRegistry.url],
        env: { ...DAEMON_ENV, DFDAEMON_HOST_HOSTNAME: `seed-${i}` },
      }))
    }
    for (let i = 0; i < 3; i++) peers.push(await startPeer(i))
    stops.push(async () => {
      await Promise.all([...seeds, ...peers].map((daemon) => daemon.stop()))
    })
    const signedIn = await api<{ token: string }>('POST', '/api/v1/users/signin', { name: 'root', password: ROOT_PASSWORD }, {})
    assert.equal(signedIn.status, 200)
    root = signedIn.json.token
    const clusterId = (await manager.clusters.ensureDefault()).id
    await waitFor(async () => (await manager.hosts.list(clusterId)).length === 5, 'the scheduler to report all five hosts', 60_000)
  }, { timeout: 300_000 })

  after(async () => {
    for (const stop of stops.reverse()) await stop().catch(() => undefined)
    await (dir as typeof dir | undefined)?.remove()
  })

  const manifestUrl = (registry: RegistryProcess, repo: string): string => `${registry.url}/v2/${repo}/manifests/${TAG}`
  const blobsOf = (image: OciImage): string[] => [image.config.digest, ...image.layers.map((layer) => layer.digest)]

  it('preheats a private image with credentials into one seed peer, then every seed peer, then every host; the registry sends each blob once', { timeout: 240_000 }, async () => {
    const args = { type: 'image', url: manifestUrl(privateRegistry, PRIVATE_REPO), username: CREDS.user, password: CREDS.password }
    const single = await finished((await createJob({ type: 'preheat', args })).id)
    assert.equal(single.state, 'SUCCESS', JSON.stringify(single))
    const blobs = blobsOf(privateImage)
    assert.equal(successes(single).length, blobs.length, 'one seed per blob')
    assert.ok(successes(single).every((task) => task.hostname.startsWith('seed-')), JSON.stringify(successes(single)))
    assert.deepEqual(successes(single).map((task) => task.url.split('/blobs/')[1]).sort(), [...blobs].sort())

    const allSeeds = await finished((await createJob({ type: 'preheat', args: { ...args, scope: 'all_seed_peers' } })).id)
    assert.equal(allSeeds.state, 'SUCCESS', JSON.stringify(allSeeds))
    assert.deepEqual([...new Set(successes(allSeeds).map((task) => task.hostname))].sort(), ['seed-0', 'seed-1'])
    assert.equal(successes(allSeeds).length, 2 * blobs.length)

    const everyone = await finished((await createJob({ type: 'preheat', args: { ...args, scope: 'all_peers' } })).id)
    assert.equal(everyone.state, 'SUCCESS', JSON.stringify(everyone))
    assert.deepEqual([...new Set(successes(everyone).map((task) => task.hostname))].sort(), ['peer-0', 'peer-1', 'peer-2', 'seed-0', 'seed-1'])
    const served = await privateRegistry.settledRequests()
    for (const blob of [privateImage.config, ...privateImage.layers]) assert.equal(blobBytesSent(served, blob.digest), blob.size, `the registry sent ${blob.digest} once`)
  })

  it('serves the preheated private image through the mirror with credentials, taking no blob from the registry, and refuses it without', { timeout: 180_000 }, async () => {
    const before = await privateRegistry.settledRequests()
    const pulled = await run('skopeo', [
      '--insecure-policy', 'copy', '--quiet', '--src-tls-verify=false', '--src-creds', `${CREDS.user}:${CREDS.password}`,
      `docker://${peers[0]!.proxyAddress().replace('0.0.0.0', '127.0.0.1')}/${PRIVATE_REPO}:${TAG}`, `oci:${join(dir.path, 'private-pull')}:${TAG}`,
    ], { timeoutMs: 120_000 })
    assert.equal(pulled.code, 0, pulled.stderr)
    const after = await privateRegistry.settledRequests()
    for (const digest of blobsOf(privateImage)) assert.equal(blobBytesSent(after, digest), blobBytesSent(before, digest), `${digest} came from the cache, not the registry`)
    const layer = privateImage.layers[0]!
    const bare = await fetch(`http://${peers[1]!.proxyAddress().replace('0.0.0.0', '127.0.0.1')}/v2/${PRIVATE_REPO}/blobs/${layer.digest}`)
    assert.equal(bare.status, 401, 'without credentials the registry\'s refusal stands, though the layer is in the cache')
    await bare.arrayBuffer()
  })

  it('preheats several file URLs into every seed peer, each fetched from the origin about once', { timeout: 120_000 }, async () => {
    const urls: string[] = []
    for (const name of ['a', 'b', 'c']) urls.push(origin.serve(`/files/${name}`, await makeRandomFile(join(dir.path, `file-${name}`), 4 * MiB)))
    const job = await finished((await createJob({ type: 'preheat', args: { type: 'file', urls, scope: 'all_seed_peers' } })).id)
    assert.equal(job.state, 'SUCCESS', JSON.stringify(job))
    assert.equal(successes(job).length, 6)
    for (const name of ['a', 'b', 'c']) assert.ok((await origin.settledStatsOf(`/files/${name}`)).bodyBytesSent <= 4 * MiB * 1.05, `/files/${name} about once`)
  })

  it('finds which hosts hold a task, then deletes it from every one', { timeout: 120_000 }, async () => {
    const url = origin.url('/files/a')
    const found = await finished((await createJob({ type: 'get_task', args: { url } })).id)
    assert.equal(found.state, 'SUCCESS', JSON.stringify(found))
    const holders = found.result?.job_states[0]?.results[0]?.peers ?? []
    assert.deepEqual(holders.map((peer) => [peer.hostname, peer.host_type, peer.state]).sort(), [['seed-0', 'super', 'Succeeded'], ['seed-1', 'super', 'Succeeded']])
    const deleted = await finished((await createJob({ type: 'delete_task', args: { url } })).id)
    assert.equal(deleted.state, 'SUCCESS', JSON.stringify(deleted))
    assert.deepEqual(successes(deleted).map((task) => task.hostname).sort(), ['seed-0', 'seed-1'])
    const again = await finished((await createJob({ type: 'get_task', args: { url } })).id)
    assert.deepEqual(again.result?.job_states[0]?.results[0]?.peers, [], 'no host holds it any more')
  })

  it('has containerd pull an image preheated on every host with 0 bytes from the registry: the mirror pull is the same task', { timeout: 240_000 }, async () => {
    const job = await finished((await createJob({ type: 'preheat', args: { type: 'image', url: manifestUrl(publicRegistry, PUBLIC_REPO), scope: 'all_peers' } })).id)
    assert.equal(job.state, 'SUCCESS', JSON.stringify(job))
    const before = await publicRegistry.settledRequests()
    const certs = join(dir.path, 'containerd-certs')
    const mirror = `http://${peers[2]!.proxyAddress().replace('0.0.0.0', '127.0.0.1')}`
    const configured = await run(process.execPath, [cliPath('damselfly'), 'config', 'containerd', '--mirror', mirror, '--registry', publicRegistry.url, '--path', certs], { timeoutMs: 30_000 })
    assert.equal(configured.code, 0, configured.stderr)
    const containerd = await startContainerd(join(dir.path, 'containerd'))
    stops.push(() => containerd.stop())
    const ref = `${publicRegistry.host}/${PUBLIC_REPO}:${TAG}`
    const pulled = await containerd.pull(ref, certs, 'native')
    assert.equal(pulled.code, 0, pulled.stderr)
    assert.equal(await containerd.imageDigest(ref), publicImage.manifestDigest)
    const after = await publicRegistry.settledRequests()
    for (const digest of blobsOf(publicImage)) assert.equal(blobBytesSent(after, digest), blobBytesSent(before, digest), `containerd's pull took ${digest} from P2P`)
  })

  it('distributes a file to three daemons, one killed mid-job: two succeed, one fails with why; rerun after its restart completes it', { timeout: 300_000 }, async () => {
    const content = await makeRandomFile(join(dir.path, 'release.bin'), 24 * MiB)
    const url = origin.serve('/release.bin', content)
    const job = await createJob({
      type: 'distribution',
      args: { type: 'file', url, hosts: ['peer-0', 'peer-1', 'peer-2'], output_path: 'releases/app.bin', rate_limit: '4MiB' },
    })
    const events = collectEvents(`${rest()}/api/v1/jobs/${job.id}/events`, root)
    await waitFor(async () => (await hostRows(job.id)).some((row) => row.hostname === 'peer-2' && row.completed_bytes > 0), 'peer-2 to make progress', 60_000)
    await peers[2]!.kill()
    const ended = await finished(job.id, 120_000)
    assert.equal(ended.state, 'FAILURE')
    assert.deepEqual(successes(ended).map((task) => task.hostname).sort(), ['peer-0', 'peer-1'])
    const [failed] = failures(ended)
    assert.equal(failed?.hostname, 'peer-2')
    assert.match(failed?.description ?? '', /peer-2.*disconnected/)
    for (const i of [0, 1]) assert.equal(await sha256File(join(dir.path, `out-${i}`, 'releases', 'app.bin')), content.sha256)
    const streamed = await events
    assert.ok(streamed.some((event) => event.event === 'host' && Number(event.data['completed_bytes']) > 0 && Number(event.data['completed_bytes']) < content.length), 'live progress was streamed')
    assert.equal(streamed.at(-1)?.event, 'job')
    assert.equal(streamed.at(-1)?.data['state'], 'FAILURE')

    peers[2] = await startPeer(2, true)
    // Until the restarted daemon has announced itself, a rerun finds no peer-2 (HOST_NOT_FOUND) and fails again.
    let rerun: JobJson | undefined
    for (let attempt = 0; attempt < 10 && rerun?.state !== 'SUCCESS'; attempt++) {
      if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 1_000))
      const answer = await api<JobJson>('POST', `/api/v1/jobs/${job.id}/rerun`)
      assert.equal(answer.status, 200, JSON.stringify(answer.json))
      rerun = await finished(job.id, 120_000)
    }
    assert.equal(rerun?.state, 'SUCCESS', JSON.stringify({ rerun, hosts: await hostRows(job.id) }))
    assert.deepEqual(successes(rerun).map((task) => task.hostname).sort(), ['peer-0', 'peer-1', 'peer-2'])
    assert.equal(await sha256File(join(dir.path, 'out-2', 'releases', 'app.bin')), content.sha256)
  })

  it('stops a running distribution: the daemons abort its download and the job fails as stopped', { timeout: 120_000 }, async () => {
    const content = await makeRandomFile(join(dir.path, 'slow.bin'), 32 * MiB)
    const url = origin.serve('/slow.bin', content)
    const job = await createJob({ type: 'distribution', args: { type: 'file', url, hosts: ['peer-0'], rate_limit: '2MiB' } })
    await waitFor(async () => (await hostRows(job.id)).some((row) => row.completed_bytes > 0), 'the download to start', 60_000)
    const stopped = await api<JobJson>('POST', `/api/v1/jobs/${job.id}/stop`)
    assert.equal(stopped.status, 200)
    const ended = await finished(job.id, 30_000)
    assert.equal(ended.state, 'FAILURE')
    assert.match(ended.error, /stopped by root/)
    const [row] = await hostRows(job.id)
    assert.equal(row?.code, 'CANCELLED')
    assert.ok((row?.completed_bytes ?? 0) < content.length)
  })

  it('answers Harbor\'s exact sequence (health, create, poll) in each of its auth modes, with only the states and shapes Harbor understands', { timeout: 240_000 }, async () => {
    const created = await api<{ token: string }>('POST', '/api/v1/personal-access-tokens', { name: 'harbor', bio: '', scopes: ['job'], expired_at: new Date(Date.now() + 3600_000).toISOString() })
    assert.equal(created.status, 201)
    const pat = created.json.token
    const modes: Array<[string, Record<string, string>]> = [
      ['OAUTH', { authorization: `Bearer ${pat}` }],
      ['BASIC', { authorization: `Basic ${Buffer.from(`harbor:${pat}`).toString('base64')}` }],
      ['CUSTOM', { Authorization: `Bearer ${pat}` }],
    ]
    // Harbor sends its own pull token for the repository in the preheat's headers.
    const grant = await fetch(`${tokens.realm}?service=${encodeURIComponent(tokens.service)}&scope=${encodeURIComponent(`repository:${PRIVATE_REPO}:pull`)}`, {
      headers: { authorization: `Basic ${Buffer.from(`${CREDS.user}:${CREDS.password}`).toString('base64')}` },
    })
    const registryToken = (await grant.json() as { token: string }).token
    for (const [mode, headers] of modes) {
      const health = await fetch(`${rest()}/healthy`, { headers })
      assert.equal(health.status, 200, `${mode}: /healthy with the token attached`)
      await health.text()
      const body = {
        type: 'preheat',
        args: { type: 'image', url: manifestUrl(privateRegistry, PRIVATE_REPO), tag: '', filtered_query_params: '', headers: { Authorization: `Bearer ${registryToken}` }, scope: '', concurrent_count: 0, timeout: 0 },
        scheduler_cluster_ids: null,
      }
      const response = await fetch(`${rest()}/oapi/v1/jobs`, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify(body) })
      assert.ok(response.status >= 200 && response.status < 300 && response.status !== 208, `${mode}: Harbor takes any 2xx but 208, got ${response.status}`)
      const job = await response.json() as Record<string, unknown>
      assert.ok(Number.isInteger(job['id']), `${mode}: id is an integer`)
      for (const field of ['created_at', 'updated_at']) assert.ok(!Number.isNaN(Date.parse(String(job[field]))), `${mode}: ${field} is RFC 3339`)
      // Harbor polls every 10 s; a shorter period asks the same questions.
      let state = String(job['state'])
      let last: Record<string, unknown> = job
      const deadline = Date.now() + 120_000
      while (state === 'PENDING' && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 1_000))
        const polled = await fetch(`${rest()}/oapi/v1/jobs/${String(job['id'])}`, { headers })
        assert.ok(polled.status >= 200 && polled.status < 300, `${mode}: a non-2xx while polling fails Harbor's preheat (${polled.status})`)
        last = await polled.json() as Record<string, unknown>
        state = String(last['state'])
        assert.ok(['PENDING', 'SUCCESS', 'FAILURE'].includes(state), `${mode}: Harbor knows no state ${state}`)
      }
      assert.equal(state, 'SUCCESS', `${mode}: ${JSON.stringify(last)}`)
      const result = last['result'] as JobJson['result']
      for (const jobState of result?.job_states ?? []) {
        assert.equal(typeof jobState.error, 'string')
        for (const entry of jobState.results) {
          for (const task of [...(entry.success_tasks ?? []), ...(entry.failure_tasks ?? [])]) {
            assert.ok(task !== null && typeof task.url === 'string' && typeof task.hostname === 'string' && typeof task.ip === 'string', `${mode}: no null entry: ${JSON.stringify(task)}`)
          }
        }
      }
      assert.ok(successes(last as unknown as JobJson).length >= blobsOf(privateImage).length)
    }
    const none = await fetch(`${rest()}/oapi/v1/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })
    assert.equal(none.status, 401, 'NONE: no job without a token, by design')
    await none.text()
    assert.equal((await fetch(`${rest()}/healthy`)).status, 200, 'NONE: the health check still passes')
  })
})

/** Body bytes of the registry's successful GETs of one blob (a download may fetch it in ranges). */
function blobBytesSent(requests: readonly RegistryRequest[], digest: string): number {
  return requests.filter((request) => request.method === 'GET' && request.status >= 200 && request.status < 300 && request.path.endsWith(`/blobs/${digest}`))
    .reduce((sum, request) => sum + request.bodyBytes, 0)
}

/** Reads a server-sent event stream to its end. */
async function collectEvents(url: string, token: string): Promise<Array<{ event: string; data: Record<string, unknown> }>> {
  const response = await fetch(url, { headers: { authorization: `Bearer ${token}` } })
  assert.equal(response.status, 200)
  const text = await response.text()
  return text.split('\n\n').filter((block) => block.startsWith('event:')).map((block) => {
    const [event, data] = block.split('\n')
    return { event: event?.slice('event: '.length) ?? '', data: JSON.parse(data?.slice('data: '.length) ?? 'null') as Record<string, unknown> }
  })
}
