import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { request } from 'node:http'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { tempDir } from './support/files.js'
import { generateImage, generateIndexImage, pushImage, type OciImage } from './support/oci-image.js'
import {
  ALLOW_LOOPBACK_ORIGINS, cliPath, dfget, metricValue, run, startDaemon, startScheduler, waitFor, type DaemonProcess, type RunResult, type SchedulerProcess,
} from './support/processes.js'
import { startRegistry, type RegistryProcess } from './support/registry.js'

const CREDS = { user: 'testuser', password: 'testpass' } as const
const BASIC = `Basic ${Buffer.from(`${CREDS.user}:${CREDS.password}`).toString('base64')}`
const REMOTE = 'damselfly_dfdaemon_download_traffic_bytes_total{type="remote_peer"}'
const LOOPBACK_ANY_REGISTRY = 'DFDAEMON_PROXY_REGISTRY_MIRROR_ANY_REGISTRY_FROM_LOOPBACK'

async function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: Buffer; headers: Headers }> {
  const response = await fetch(url, { headers })
  return { status: response.status, body: Buffer.from(await response.arrayBuffer()), headers: response.headers }
}

/** A GET whose path goes out exactly as written: fetch and curl would resolve its dot-segments first. */
function rawGet(host: string, port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host, port, path, method: 'GET' }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (chunk: Buffer) => chunks.push(chunk))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }))
    })
    req.on('error', reject)
    req.end()
  })
}

/** skopeo pulling `<mirror>/<repo>:<tag>` as if the daemon's proxy were the registry. */
function skopeoPull(mirror: string, repo: string, tag: string, dest: string, creds?: string): ReturnType<typeof run> {
  return run('skopeo', [
    '--insecure-policy', 'copy', '--quiet', '--src-tls-verify=false',
    ...(creds === undefined ? ['--src-no-creds'] : ['--src-creds', creds]),
    `docker://${mirror}/${repo}:${tag}`, `oci:${dest}:${tag}`,
  ], { timeoutMs: 120_000 })
}

describe('registry mirror with a real registry and skopeo', { timeout: 600_000 }, () => {
  let dir!: Awaited<ReturnType<typeof tempDir>>
  let registry!: RegistryProcess
  let image!: OciImage
  let scheduler!: SchedulerProcess
  const stops: Array<() => Promise<void>> = []

  before(async () => {
    dir = await tempDir('mirror')
    registry = await startRegistry(join(dir.path, 'registry'))
    stops.push(() => registry.stop())
    image = await generateImage(join(dir.path, 'image'), 'v1', [1, 5, 20])
    await pushImage(image.layoutDir, 'v1', registry.host, 'test/img')
    scheduler = await startScheduler(join(dir.path, 'scheduler'))
    stops.push(() => scheduler.stop())
  })

  after(async () => {
    for (const stop of stops.reverse()) await stop().catch(() => undefined)
    await (dir as typeof dir | undefined)?.remove()
  })

  async function daemon(name: string, registryUrl: string, args: string[] = [], env: Record<string, string> = {}): Promise<DaemonProcess> {
    const started = await startDaemon(join(dir.path, name), { cluster: scheduler, args: ['--scheduler', scheduler.address, '--registry-mirror', registryUrl, ...args], env })
    stops.push(() => started.stop())
    return started
  }

  it('pulls through two daemons: the registry serves each blob at most once, the second daemon gets them from peers', { timeout: 300_000 }, async () => {
    await daemon('seed', registry.url, ['--seed'], ALLOW_LOOPBACK_ORIGINS)
    const first = await daemon('first', registry.url)
    const second = await daemon('second', registry.url)
    for (const [node, name] of [[first, 'pull-1'], [second, 'pull-2']] as const) {
      const result = await skopeoPull(node.proxyAddress(), 'test/img', 'v1', join(dir.path, name))
      assert.equal(result.code, 0, result.stderr)
      const index = JSON.parse(await readFile(join(dir.path, name, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string }> }
      assert.equal(index.manifests[0]?.digest, image.manifestDigest)
    }
    // Pieces are ranged GETs, so what counts is bytes: each blob's bytes left the registry once at most.
    const requests = await registry.settledRequests()
    for (const blob of [image.config, ...image.layers]) {
      const served = requests
        .filter((request) => request.method === 'GET' && request.status >= 200 && request.status < 300 && request.path.endsWith(`/blobs/${blob.digest}`))
        .reduce((sum, request) => sum + request.bodyBytes, 0)
      assert.ok(served <= blob.size, `the registry sent ${served} bytes of ${blob.digest} (${blob.size} bytes)`)
    }
    const largest = image.layers.reduce((a, b) => (a.size > b.size ? a : b))
    assert.ok((await metricValue(second.metricsAddress(), REMOTE)) >= largest.size, 'the second daemon got the layers from peers')
    assert.ok((await metricValue(second.metricsAddress(), 'damselfly_dfdaemon_proxy_request_total{kind="p2p"}')) >= 4)
  })

  it('answers ranged blob reads with exactly the right bytes', { timeout: 120_000 }, async () => {
    const node = await daemon('ranges', registry.url)
    const layer = image.layers.reduce((a, b) => (a.size > b.size ? a : b))
    const bytes = await readFile(image.blobPath(layer.digest))
    const url = `http://${node.proxyAddress()}/v2/test/img/blobs/${layer.digest}`
    const size = bytes.length
    const cases: Array<[string, number, number]> = [
      ['bytes=0-99', 0, 99],
      [`bytes=${Math.floor(size / 2)}-${Math.floor(size / 2) + 4_999_999}`, Math.floor(size / 2), Math.floor(size / 2) + 4_999_999],
      [`bytes=${size - 100}-${size - 1}`, size - 100, size - 1],
      [`bytes=${size - 12345}-`, size - 12345, size - 1],
      ['bytes=-777', size - 777, size - 1],
    ]
    for (const [range, start, end] of cases) {
      const answer = await get(url, { range })
      assert.equal(answer.status, 206, range)
      assert.equal(answer.headers.get('content-range'), `bytes ${start}-${end}/${size}`)
      assert.ok(answer.body.equals(bytes.subarray(start, end + 1)), `bytes of ${range}`)
    }
    const whole = await get(url)
    assert.equal(whole.status, 200)
    assert.equal(`sha256:${createHash('sha256').update(whole.body).digest('hex')}`, layer.digest)
  })

  it('works with a basic-auth registry, and serves cached blobs only to clients the registry accepts', { timeout: 300_000 }, async () => {
    const secured = await startRegistry(join(dir.path, 'auth-registry'), { htpasswd: CREDS })
    stops.push(() => secured.stop())
    await pushImage(image.layoutDir, 'v1', secured.host, 'test/img', CREDS)
    const checked = await daemon('auth-checked', secured.url)
    const ok = await skopeoPull(checked.proxyAddress(), 'test/img', 'v1', join(dir.path, 'auth-pull'), `${CREDS.user}:${CREDS.password}`)
    assert.equal(ok.code, 0, ok.stderr)
    const wrong = await skopeoPull(checked.proxyAddress(), 'test/img', 'v1', join(dir.path, 'auth-wrong'), `${CREDS.user}:nope`)
    assert.notEqual(wrong.code, 0)
    const blob = `http://${checked.proxyAddress()}/v2/test/img/blobs/${image.layers[0]!.digest}`
    assert.equal((await get(blob)).status, 401, 'no credentials: the registry refuses, so the cache does not serve')
    assert.equal((await get(blob, { authorization: 'Basic d3Jvbmc6d3Jvbmc=' })).status, 401, 'wrong credentials')
    assert.equal((await get(blob, { authorization: BASIC })).status, 200)

    // The local API asks the registry too: knowing a cached layer's digest is not enough.
    const digest = image.layers[0]!.digest
    const viaDfget = async (url: string, name: string, extra: string[] = []): Promise<RunResult> =>
      dfget([url, '-O', join(dir.path, name), '-e', checked.socketPath, '--no-progress', ...extra], { timeoutMs: 60_000 })
    const nowhere = await viaDfget(`http://127.0.0.1:1/v2/anything/blobs/${digest}`, 'nowhere.bin')
    assert.equal(nowhere.code, 1, 'a registry that does not answer cannot consent')
    assert.match(nowhere.stderr, /could not be asked/)
    const anonymous = await viaDfget(`${secured.url}/v2/test/img/blobs/${digest}`, 'anonymous.bin')
    assert.equal(anonymous.code, 1)
    assert.match(anonymous.stderr, /refused these credentials for it \(401\)/)
    const allowed = await viaDfget(`${secured.url}/v2/test/img/blobs/${digest}`, 'allowed.bin', ['-H', `Authorization: ${BASIC}`])
    assert.equal(allowed.code, 0, allowed.stderr)

    // With the check off, the cache serves whoever asks: the operator chose to trust the network.
    const trusting = await daemon('auth-unchecked', secured.url, [], { DFDAEMON_PROXY_REGISTRY_MIRROR_CHECK_ACCESS: 'false' })
    const trustingBlob = `http://${trusting.proxyAddress()}/v2/test/img/blobs/${image.layers[0]!.digest}`
    assert.equal((await get(trustingBlob, { authorization: BASIC })).status, 200)
    await waitFor(async () => (await get(trustingBlob)).status === 200, 'the unchecked daemon to serve its cached blob without credentials', 10_000)
  })

  it('pulls from a TLS registry with its CA configured, and fails with a clear error without it', { timeout: 200_000 }, async () => {
    const secure = await startRegistry(join(dir.path, 'tls-registry'), { tls: true })
    stops.push(() => secure.stop())
    await pushImage(image.layoutDir, 'v1', secure.host, 'test/img', undefined, { caPath: secure.caPath! })
    const trusting = await daemon('tls-with-ca', secure.url, [], { DFDAEMON_SOURCE_CA_CERT: secure.caPath! })
    const pulled = await skopeoPull(trusting.proxyAddress(), 'test/img', 'v1', join(dir.path, 'tls-pull'))
    assert.equal(pulled.code, 0, pulled.stderr)
    const doubting = await daemon('tls-without-ca', secure.url)
    const refused = await get(`http://${doubting.proxyAddress()}/v2/`)
    assert.equal(refused.status, 502)
    assert.equal(refused.headers.get('x-dragonfly-error-type'), 'backend')
    assert.match(refused.body.toString(), /certificate/)
    assert.notEqual((await skopeoPull(doubting.proxyAddress(), 'test/img', 'v1', join(dir.path, 'tls-refused'))).code, 0)
  })

  it('fails the pull when the registry stops mid-way (no hang, no corrupt layer), and completes once it is back', { timeout: 300_000 }, async () => {
    const fragile = await startRegistry(join(dir.path, 'fragile-registry'))
    stops.push(() => fragile.stop())
    // Blobs no peer holds yet, so they must come from this registry.
    const fresh = await generateImage(join(dir.path, 'fresh-image'), 'v1', [2, 20])
    await pushImage(fresh.layoutDir, 'v1', fragile.host, 'test/img')
    const slow = await daemon('fragile', fragile.url, [], { DFDAEMON_SOURCE_RATE_LIMIT: '4MiB', DFDAEMON_SOURCE_RETRY_COUNT: '1' })
    const largest = fresh.layers.reduce((a, b) => (a.size > b.size ? a : b))
    const startedMs = Date.now()
    const pulling = skopeoPull(slow.proxyAddress(), 'test/img', 'v1', join(dir.path, 'fragile-1'))
    await waitFor(() => fragile.requests().some((request) => request.path.endsWith(largest.digest) && request.method === 'GET'), 'the largest layer to be under way', 60_000)
    await fragile.kill()
    const broken = await pulling
    assert.notEqual(broken.code, 0, 'the pull failed')
    assert.ok(Date.now() - startedMs < 120_000, 'and did not hang')
    const back = await startRegistry(join(dir.path, 'fragile-registry'), { port: fragile.port })
    stops.push(() => back.stop())
    const retried = await skopeoPull(slow.proxyAddress(), 'test/img', 'v1', join(dir.path, 'fragile-2'))
    assert.equal(retried.code, 0, retried.stderr)
    const index = JSON.parse(await readFile(join(dir.path, 'fragile-2', 'index.json'), 'utf8')) as { manifests: Array<{ digest: string }> }
    assert.equal(index.manifests[0]?.digest, fresh.manifestDigest)
  })

  it('intercepts HTTPS for listed hosts with the operator\'s CA, tunnels other allowed ones, refuses the rest', { timeout: 200_000 }, async () => {
    const secure = await startRegistry(join(dir.path, 'hijack-registry'), { tls: true })
    stops.push(() => secure.stop())
    const fresh = await generateImage(join(dir.path, 'hijack-image'), 'v1', [3])
    await pushImage(fresh.layoutDir, 'v1', secure.host, 'test/img', undefined, { caPath: secure.caPath! })
    const caDir = join(dir.path, 'proxy-ca')
    const created = await run(process.execPath, [cliPath('damselfly'), 'ca', 'create', '--out', caDir])
    assert.equal(created.code, 0, created.stderr)
    const env = {
      DFDAEMON_SOURCE_CA_CERT: secure.caPath!,
      DFDAEMON_PROXY_HIJACK_HTTPS_CERT: join(caDir, 'ca.crt'),
      DFDAEMON_PROXY_HIJACK_HTTPS_KEY: join(caDir, 'ca.key'),
    }
    const intercepting = await daemon('hijack', secure.url, [], { ...env, DFDAEMON_PROXY_HIJACK_HTTPS_HOSTS: '^127\\.0\\.0\\.1$' })
    const layer = fresh.layers[0]!
    const blobUrl = `${secure.url}/v2/test/img/blobs/${layer.digest}`
    const viaProxy = (node: DaemonProcess, ca: string): ReturnType<typeof run> =>
      run('curl', ['-sS', '--fail', '-o', '/dev/null', '-D', '-', '--proxy', `http://${node.proxyAddress()}`, '--cacert', ca, blobUrl])
    const intercepted = await viaProxy(intercepting, join(caDir, 'ca.crt'))
    assert.equal(intercepted.code, 0, intercepted.stderr)
    assert.match(intercepted.stdout, /x-dragonfly-task-id: [0-9a-f]{64}/i, 'the blob went through P2P')
    const untrusted = await viaProxy(intercepting, secure.caPath!)
    assert.notEqual(untrusted.code, 0, 'a client that does not trust the operator CA refuses the intercepted connection')

    // Held to the allowed lists as a client of another host is: these tests can only connect from loopback.
    const tunnelling = await daemon('tunnel', secure.url, [], { ...env, [LOOPBACK_ANY_REGISTRY]: 'false' })
    const tunnelled = await viaProxy(tunnelling, secure.caPath!)
    assert.equal(tunnelled.code, 0, tunnelled.stderr)
    assert.doesNotMatch(tunnelled.stdout, /x-dragonfly-task-id/i, 'a plain tunnel: the registry answered itself')
    const connectTo = (node: DaemonProcess): ReturnType<typeof run> =>
      run('curl', ['-sS', '-o', '/dev/null', '--proxy', `http://${node.proxyAddress()}`, '-k', 'https://127.0.0.2:9/'])
    const refused = await connectTo(tunnelling)
    assert.notEqual(refused.code, 0)
    assert.match(refused.stderr, /403/)
    assert.equal(await metricValue(tunnelling.metricsAddress(), 'damselfly_dfdaemon_proxy_refused_request_total{reason="connect-not-allowed"}'), 1)
    // A client on loopback (this host's runtime) may tunnel anywhere: nothing listens there, so the tunnel fails.
    const anywhere = await connectTo(intercepting)
    assert.notEqual(anywhere.code, 0)
    assert.match(anywhere.stderr, /502/)
  })

  it('refuses a registry off the allowed list for a client held to it, and paths that leave /v2/; logs and counts each refusal by reason', { timeout: 120_000 }, async () => {
    const strict = await daemon('refusals', registry.url, [], { [LOOPBACK_ANY_REGISTRY]: 'false' })
    const manifest = `http://${strict.proxyAddress()}/v2/test/img/manifests/v1`
    const other = await get(manifest, { 'x-dragonfly-registry': 'http://127.0.0.2:9' })
    assert.equal(other.status, 403)
    assert.equal((JSON.parse(other.body.toString()) as { error: { code: string } }).error.code, 'UPSTREAM_NOT_ALLOWED')
    assert.equal((await get(manifest, { accept: image.manifestMediaType })).status, 200, 'the default registry is served')

    const [host = '', port = ''] = strict.proxyAddress().split(':')
    const escapes = ['/v2/../debug/vars', '/v2/%2e%2e/debug/vars', '/v2/test/img%2f..%2f..%2f..%2fdebug/vars', '/v2/.%2E/.%2e/debug/vars']
    for (const path of escapes) {
      const answer = await rawGet(host, Number(port), path)
      assert.equal(answer.status, 400, path)
      assert.equal((JSON.parse(answer.body) as { error: { code: string } }).error.code, 'INVALID_ARGUMENT', path)
    }
    assert.deepEqual(registry.requests().filter((request) => !request.path.startsWith('/v2/') && request.path !== '/v2'), [], 'nothing outside /v2/ reached the registry')

    const refusals = (reason: string): Promise<number> => metricValue(strict.metricsAddress(), `damselfly_dfdaemon_proxy_refused_request_total{reason="${reason}"}`)
    assert.equal(await refusals('registry-not-allowed'), 1)
    assert.equal(await refusals('dot-segment'), escapes.length)
    const warnings = (await readFile(strict.logPath, 'utf8')).split('\n').filter((line) => line.includes('"proxy request refused"'))
      .map((line) => JSON.parse(line) as { level: number; reason: string; why: string })
    assert.deepEqual(warnings.map((line) => [line.level, line.reason]), [[40, 'registry-not-allowed'], ...escapes.map(() => [40, 'dot-segment'])])
    assert.match(warnings[0]?.why ?? '', /registry 127\.0\.0\.2:9 is not in proxy\.registryMirror\.allowedRegistries/)
  })

  it('pulls each platform of a multi-platform index through the mirror', { timeout: 200_000 }, async () => {
    const multi = await generateIndexImage(join(dir.path, 'multi-image'), 'v1', [
      { architecture: 'amd64', layerSizesMiB: [2, 3] },
      { architecture: 'arm64', layerSizesMiB: [2, 4] },
    ])
    await pushImage(multi.layoutDir, 'v1', registry.host, 'test/multi', undefined, { all: true })
    const node = await daemon('multi', registry.url)
    for (const platform of multi.platforms) {
      const dest = join(dir.path, `multi-${platform.architecture}`)
      const pulled = await run('skopeo', [
        '--insecure-policy', '--override-arch', platform.architecture, '--override-os', 'linux', 'copy', '--quiet',
        '--src-tls-verify=false', '--src-no-creds', `docker://${node.proxyAddress()}/test/multi:v1`, `oci:${dest}:v1`,
      ], { timeoutMs: 120_000 })
      assert.equal(pulled.code, 0, pulled.stderr)
      const index = JSON.parse(await readFile(join(dest, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string }> }
      assert.equal(index.manifests[0]?.digest, platform.manifestDigest, `the ${platform.architecture} manifest was chosen from the index`)
    }
    assert.ok((await metricValue(node.metricsAddress(), 'damselfly_dfdaemon_proxy_request_total{kind="p2p"}')) >= 6, 'every platform\'s blobs went through P2P')
  })
})
