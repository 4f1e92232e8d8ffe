import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { Agent } from 'undici'
import { systemClock } from '../src/common/clock.js'
import { DamselflyError } from '../src/protocol/damselfly-error.js'
import { ImageResolver, type ResolveImageRequest } from '../src/source/image-resolver.js'
import { sha256File, tempDir } from './support/files.js'
import { generateImage, pushImage, type OciImage } from './support/oci-image.js'
import { dfget, startDaemon, type DaemonProcess } from './support/processes.js'
import { startRegistry, type RegistryProcess } from './support/registry.js'
import { startTokenServer, type TokenServer } from './support/token-server.js'

const CREDS = { user: 'preheater', password: 'Pw-9f3c-secret' } as const
const REPO = 'test/img'
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json'
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json'
const TEST = { timeout: 60_000 }

/** A token from the realm for `scope`, with the account, as a client gets it after a 401. */
async function fetchToken(tokens: TokenServer, scope: string): Promise<string> {
  const url = `${tokens.realm}?service=${encodeURIComponent(tokens.service)}&scope=${encodeURIComponent(scope)}`
  const answer = await fetch(url, { headers: { authorization: basicHeader(CREDS.password) } })
  assert.equal(answer.status, 200)
  return (await answer.json() as { token: string }).token
}

function basicHeader(password: string): string {
  return `Basic ${Buffer.from(`${CREDS.user}:${password}`).toString('base64')}`
}

/** The DamselflyError `promise` rejects with. */
async function failure(promise: Promise<unknown>): Promise<DamselflyError> {
  try {
    await promise
  } catch (error) {
    assert.ok(error instanceof DamselflyError, String(error))
    return error
  }
  return assert.fail('expected a rejection')
}

describe('image resolver against a registry with token auth', { timeout: 300_000 }, () => {
  let dir!: Awaited<ReturnType<typeof tempDir>>
  let tokens!: TokenServer
  let registry!: RegistryProcess
  let amd64!: OciImage
  let arm64!: OciImage
  let indexDigest!: string
  let daemon!: DaemonProcess
  const agent = new Agent()
  const resolver = new ImageResolver({ dispatcher: agent, clock: systemClock }, { tokenCacheSize: 100 })
  const stops: Array<() => Promise<void>> = []

  const request = (reference: string, extra: Partial<ResolveImageRequest> = {}): ResolveImageRequest => ({
    manifestUrl: `${registry.url}/v2/${REPO}/manifests/${reference}`,
    username: CREDS.user,
    password: CREDS.password,
    signal: AbortSignal.timeout(20_000),
    ...extra,
  })

  before(async () => {
    dir = await tempDir('image-resolver')
    tokens = await startTokenServer(join(dir.path, 'tokens'), CREDS)
    stops.push(() => tokens.close())
    registry = await startRegistry(join(dir.path, 'registry'), {
      token: { realm: tokens.realm, service: tokens.service, issuer: tokens.issuer, certPath: tokens.certPath },
    })
    stops.push(() => registry.stop())
    amd64 = await generateImage(join(dir.path, 'amd64'), 'v1', [1, 1])
    arm64 = await generateImage(join(dir.path, 'arm64'), 'arm', [1])
    await pushImage(amd64.layoutDir, 'v1', registry.host, REPO, CREDS)
    await pushImage(arm64.layoutDir, 'arm', registry.host, REPO, CREDS)
    // An index over both, pushed as a client does: with a token the account got for push.
    const manifestSize = async (image: OciImage): Promise<number> => (await readFile(image.blobPath(image.manifestDigest))).length
    const index = Buffer.from(JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: [
        { mediaType: OCI_MANIFEST, digest: amd64.manifestDigest, size: await manifestSize(amd64), platform: { os: 'linux', architecture: 'amd64' } },
        { mediaType: OCI_MANIFEST, digest: arm64.manifestDigest, size: await manifestSize(arm64), platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
      ],
    }))
    const pushToken = await fetchToken(tokens, `repository:${REPO}:pull,push`)
    const put = await fetch(`${registry.url}/v2/${REPO}/manifests/multi`, {
      method: 'PUT',
      headers: { 'content-type': OCI_INDEX, authorization: `Bearer ${pushToken}` },
      body: index,
    })
    assert.equal(put.status, 201, await put.text())
    indexDigest = put.headers.get('docker-content-digest') ?? ''
    daemon = await startDaemon(join(dir.path, 'daemon'))
    stops.push(() => daemon.stop())
  }, { timeout: 240_000 })

  after(async () => {
    await agent.close()
    for (const stop of stops.reverse()) await stop().catch(() => undefined)
    await (dir as typeof dir | undefined)?.remove()
  })

  it('resolves with the account on a registry that lets nobody in anonymously: config then layers, as pushed', TEST, async () => {
    const image = await resolver.resolveImage(request('v1'))
    assert.equal(image.registry, registry.url)
    assert.equal(image.repository, REPO)
    assert.equal(image.reference, 'v1')
    assert.equal(image.manifestDigest, amd64.manifestDigest)
    assert.equal(image.indexDigest, undefined)
    assert.deepEqual(image.blobs, [amd64.config, ...amd64.layers].map((blob) => ({
      digest: blob.digest,
      sizeBytes: blob.size,
      mediaType: blob.mediaType,
      url: `${registry.url}/v2/${REPO}/blobs/${blob.digest}`,
    })))
    assert.match(image.authorization ?? '', /^Bearer /)
    // The header is what a download sends: the registry serves the config with it.
    const config = await fetch(image.blobs[0]?.url ?? '', { headers: { authorization: image.authorization ?? '' } })
    assert.equal(config.status, 200)
    assert.ok(Buffer.from(await config.arrayBuffer()).equals(await readFile(amd64.blobPath(amd64.configDigest))))
    const anonymous = await failure(resolver.resolveImage(request('v1', { username: undefined, password: undefined })))
    assert.equal(anonymous.details.sourceStatus, 401, 'anonymous tokens grant nothing here')
  })

  it('fails a wrong password with SOURCE_STATUS 401, in one line without the password', TEST, async () => {
    const error = await failure(resolver.resolveImage(request('v1', { password: 'Wrong-pw-4410' })))
    assert.equal(error.code, 'SOURCE_STATUS')
    assert.equal(error.details.sourceStatus, 401)
    assert.ok(error.message.includes(registry.host) && error.message.includes(REPO), error.message)
    assert.ok(!error.message.includes('\n'))
    assert.ok(!error.message.includes('Wrong-pw-4410') && !error.message.includes(basicHeader('Wrong-pw-4410').slice(6)), error.message)
  })

  it('fails an unknown tag with SOURCE_STATUS 404', TEST, async () => {
    const error = await failure(resolver.resolveImage(request('no-such-tag')))
    assert.equal(error.code, 'SOURCE_STATUS')
    assert.equal(error.details.sourceStatus, 404)
    assert.match(error.message, /no manifest no-such-tag/)
  })

  const platforms = [
    { platform: 'linux/arm64', image: (): OciImage => arm64, entry: 'linux/arm64/v8' },
    { platform: 'linux/arm64/v8', image: (): OciImage => arm64, entry: 'linux/arm64/v8' },
    { platform: undefined, image: (): OciImage => amd64, entry: 'linux/amd64' },
  ]
  for (const { platform, image, entry } of platforms) {
    it(`picks ${entry} from an index for ${platform ?? 'the default platform'}`, TEST, async () => {
      const resolved = await resolver.resolveImage(request('multi', { platform }))
      assert.equal(resolved.indexDigest, indexDigest)
      assert.equal(resolved.platform, entry)
      assert.equal(resolved.manifestDigest, image().manifestDigest)
      assert.deepEqual(resolved.blobs.map((blob) => blob.digest), [image().configDigest, ...image().layers.map((layer) => layer.digest)])
    })
  }

  it('names the platforms an index has when the one asked for is missing', TEST, async () => {
    const error = await failure(resolver.resolveImage(request('multi', { platform: 'linux/s390x' })))
    assert.equal(error.code, 'INVALID_ARGUMENT')
    assert.match(error.message, /no linux\/s390x manifest \(available: linux\/amd64, linux\/arm64\/v8\)$/)
  })

  it('uses a Bearer token the caller brings, with no account', TEST, async () => {
    const token = await fetchToken(tokens, `repository:${REPO}:pull`)
    const tokensBefore = tokens.requests().length
    const image = await resolver.resolveImage(request('v1', { username: undefined, password: undefined, headers: { Authorization: `Bearer ${token}` } }))
    assert.equal(image.manifestDigest, amd64.manifestDigest)
    assert.equal(image.authorization, `Bearer ${token}`)
    assert.equal(tokens.requests().length, tokensBefore, 'no token was asked for')
  })

  it('dfget of a blob with Basic credentials gets a token for them and downloads it', TEST, async () => {
    const layer = amd64.layers[0]!
    const tokensBefore = tokens.requests().length
    const output = join(dir.path, 'layer.tgz')
    const result = await dfget([`${registry.url}/v2/${REPO}/blobs/${layer.digest}`, '-O', output, '-e', daemon.socketPath, '--no-progress', '--header', `Authorization: ${basicHeader(CREDS.password)}`])
    assert.equal(result.code, 0, result.stderr)
    assert.equal(`sha256:${await sha256File(output)}`, layer.digest)
    const granted = tokens.requests().slice(tokensBefore).filter((asked) => asked.user === CREDS.user && asked.status === 200)
    assert.ok(granted.length >= 1, 'the daemon exchanged the credentials for a token')
    // The access check (a HEAD with the client's credentials) went through the same exchange.
    const blobPath = `/v2/${REPO}/blobs/${layer.digest}`
    const settled = await registry.settledRequests()
    assert.ok(settled.some((seen) => seen.method === 'HEAD' && seen.path === blobPath && seen.status === 200), 'the registry granted the access check')
    assert.ok(settled.some((seen) => seen.method === 'GET' && seen.path === blobPath && seen.status >= 200 && seen.status < 300), 'the registry served the blob')

    const refused = await dfget([`${registry.url}/v2/${REPO}/blobs/${amd64.layers[1]?.digest ?? ''}`, '-O', join(dir.path, 'refused.tgz'), '-e', daemon.socketPath, '--no-progress', '--header', `Authorization: ${basicHeader('Wrong-pw-4410')}`])
    assert.notEqual(refused.code, 0)
    assert.match(refused.stderr, /401/)
    assert.ok(!refused.stderr.includes('Wrong-pw-4410'))
    const log = await readFile(daemon.logPath, 'utf8')
    assert.ok(!log.includes(CREDS.password) && !log.includes(basicHeader(CREDS.password).slice(6)), 'the daemon logged no credential')
  })
})
