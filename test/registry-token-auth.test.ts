import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { tempDir } from './support/files.js'
import { generateImage, pushImage, type OciImage } from './support/oci-image.js'
import { ALLOW_LOOPBACK_ORIGINS, metricValue, run, startDaemon, startScheduler, type DaemonProcess } from './support/processes.js'
import { countBlobGets, startRegistry, type RegistryProcess } from './support/registry.js'
import { startTokenServer, type TokenServer } from './support/token-server.js'

const CREDS = { user: 'tokenuser', password: 'tokenpass' } as const
const REPO = 'test/img'
const TAG = 'v1'
const P2P_REQUESTS = 'damselfly_dfdaemon_proxy_request_total{kind="p2p"}'

async function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: Buffer; headers: Headers }> {
  const response = await fetch(url, { headers })
  return { status: response.status, body: Buffer.from(await response.arrayBuffer()), headers: response.headers }
}

/** A token straight from the realm, as a client would fetch it after a 401; Basic credentials when given. */
async function fetchToken(tokens: TokenServer, scope: string, creds?: { user: string; password: string }): Promise<{ status: number; token: string | undefined }> {
  const url = `${tokens.realm}?service=${encodeURIComponent(tokens.service)}&scope=${encodeURIComponent(scope)}`
  const headers = creds === undefined ? {} : { authorization: `Basic ${Buffer.from(`${creds.user}:${creds.password}`).toString('base64')}` }
  const answer = await get(url, headers)
  if (answer.status !== 200) return { status: answer.status, token: undefined }
  return { status: answer.status, token: (JSON.parse(answer.body.toString()) as { token: string }).token }
}

/** skopeo pulling `<mirror>/<repo>:<tag>` as if the daemon's proxy were the registry. */
function skopeoPull(mirror: string, dest: string, creds: string): ReturnType<typeof run> {
  return run('skopeo', [
    '--insecure-policy', 'copy', '--quiet', '--src-tls-verify=false', '--src-creds', creds,
    `docker://${mirror}/${REPO}:${TAG}`, `oci:${dest}:${TAG}`,
  ], { timeoutMs: 120_000 })
}

describe('registry mirror in front of a bearer-token registry', { timeout: 600_000 }, () => {
  let dir!: Awaited<ReturnType<typeof tempDir>>
  let tokens!: TokenServer
  let registry!: RegistryProcess
  let image!: OciImage
  let node!: DaemonProcess
  const stops: Array<() => Promise<void>> = []

  before(async () => {
    dir = await tempDir('token-auth')
    tokens = await startTokenServer(join(dir.path, 'tokens'), CREDS)
    stops.push(() => tokens.close())
    registry = await startRegistry(join(dir.path, 'registry'), {
      token: { realm: tokens.realm, service: tokens.service, issuer: tokens.issuer, certPath: tokens.certPath },
    })
    stops.push(() => registry.stop())
    image = await generateImage(join(dir.path, 'image'), TAG, [1, 5])
    await pushImage(image.layoutDir, TAG, registry.host, REPO, CREDS)
    const scheduler = await startScheduler(join(dir.path, 'scheduler'))
    stops.push(() => scheduler.stop())
    const daemon = async (name: string, args: string[] = [], env: Record<string, string> = {}): Promise<DaemonProcess> => {
      const started = await startDaemon(join(dir.path, name), { cluster: scheduler, args: ['--scheduler', scheduler.address, '--registry-mirror', registry.url, ...args], env })
      stops.push(() => started.stop())
      return started
    }
    await daemon('seed', ['--seed'], ALLOW_LOOPBACK_ORIGINS)
    node = await daemon('node')
  }, { timeout: 240_000 })

  after(async () => {
    for (const stop of stops.reverse()) await stop().catch(() => undefined)
    await (dir as typeof dir | undefined)?.remove()
  })

  it('the registry demands a token that only the right account gets', { timeout: 30_000 }, async () => {
    const challenge = await get(`${registry.url}/v2/${REPO}/manifests/${TAG}`)
    assert.equal(challenge.status, 401)
    assert.match(challenge.headers.get('www-authenticate') ?? '', /^Bearer realm="[^"]+",service="[^"]+",scope="repository:test\/img:pull"/)
    assert.equal((await fetchToken(tokens, `repository:${REPO}:pull`, { user: CREDS.user, password: 'nope' })).status, 401)
    const accept = { accept: 'application/vnd.oci.image.manifest.v1+json' }
    const anonymous = await fetchToken(tokens, `repository:${REPO}:pull`)
    assert.equal((await get(`${registry.url}/v2/${REPO}/manifests/${TAG}`, { ...accept, authorization: `Bearer ${anonymous.token ?? ''}` })).status, 401, 'a token granting nothing')
    const granted = await fetchToken(tokens, `repository:${REPO}:pull`, CREDS)
    const manifest = await get(`${registry.url}/v2/${REPO}/manifests/${TAG}`, { ...accept, authorization: `Bearer ${granted.token ?? ''}` })
    assert.equal(manifest.status, 200, manifest.body.toString())
    assert.equal(manifest.headers.get('docker-content-digest'), image.manifestDigest)
  })

  it('pulls through the daemon with the client\'s credentials, the blobs through P2P', { timeout: 200_000 }, async () => {
    const tokensBefore = tokens.requests().length
    const dest = join(dir.path, 'pull')
    const pulled = await skopeoPull(node.proxyAddress(), dest, `${CREDS.user}:${CREDS.password}`)
    assert.equal(pulled.code, 0, pulled.stderr)
    const index = JSON.parse(await readFile(join(dest, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string }> }
    assert.equal(index.manifests[0]?.digest, image.manifestDigest)
    const blobs = [image.config, ...image.layers]
    assert.ok((await metricValue(node.metricsAddress(), P2P_REQUESTS)) >= blobs.length, 'every blob was served through P2P')
    // skopeo went to the realm itself (the proxy passes the challenge through) and got a pull token:
    // the setup's push and the first test got tokens too, so only requests since this pull count.
    const pullTokens = tokens.requests().slice(tokensBefore)
      .filter((request) => request.user === CREDS.user && request.status === 200 && request.granted.some((access) => access.name === REPO && access.actions.includes('pull')))
    assert.ok(pullTokens.length >= 1, 'skopeo got a pull token during this pull')
    // The peers fetched each blob from the registry with that token: none was refused.
    const settled = await registry.settledRequests()
    for (const blob of blobs) assert.ok(countBlobGets(settled, blob.digest) >= 1, `the registry served ${blob.digest}`)
  })

  it('fails the pull with wrong credentials', { timeout: 150_000 }, async () => {
    const tokensBefore = tokens.requests().length
    const refused = await skopeoPull(node.proxyAddress(), join(dir.path, 'wrong'), `${CREDS.user}:nope`)
    assert.notEqual(refused.code, 0)
    // The first test had a wrong password refused too: only requests since this pull count.
    const answered = tokens.requests().slice(tokensBefore).filter((request) => request.user === CREDS.user)
    assert.ok(answered.length >= 1 && answered.every((request) => request.status === 401), `the token server refused this pull's credentials, and granted it nothing: ${JSON.stringify(answered)}`)
  })

  it('passes the registry\'s Bearer challenge through for a blob asked without a token, and serves it with one', { timeout: 60_000 }, async () => {
    const layer = image.layers[0]!
    const blob = `http://${node.proxyAddress()}/v2/${REPO}/blobs/${layer.digest}`
    const bare = await get(blob)
    assert.equal(bare.status, 401)
    const challenge = bare.headers.get('www-authenticate') ?? ''
    assert.match(challenge, /^Bearer /)
    assert.ok(challenge.includes(`realm="${tokens.realm}"`), challenge)
    const anonymous = await fetchToken(tokens, `repository:${REPO}:pull`)
    assert.equal((await get(blob, { authorization: `Bearer ${anonymous.token ?? ''}` })).status, 401, 'a token granting nothing gets nothing from the cache')
    const granted = await fetchToken(tokens, `repository:${REPO}:pull`, CREDS)
    const served = await get(blob, { authorization: `Bearer ${granted.token ?? ''}` })
    assert.equal(served.status, 200)
    assert.ok(served.body.equals(await readFile(image.blobPath(layer.digest))), 'the layer\'s bytes')
  })
})
