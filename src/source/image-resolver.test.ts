import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { ManualClock } from '../common/manual-clock.js'
import { MANIFEST_ACCEPT, MANIFEST_MEDIA_TYPES } from './image-manifest.js'
import { ImageResolver, type ResolveImageRequest } from './image-resolver.js'
import { ACCOUNT, FakeRegistry, REGISTRY, sha256Digest, type FakeRegistryOptions } from './registry-test-fixtures.js'
import { rejection } from './source-test-fixtures.js'

const TEST = { timeout: 5_000 }
const REPO = 'team/app'
const D = (char: string): string => `sha256:${char.repeat(64)}`

function imageManifest(seed: string): { mediaType: string; schemaVersion: 2; config: object; layers: object[] } {
  return {
    schemaVersion: 2,
    mediaType: MANIFEST_MEDIA_TYPES.ociManifest,
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: D(seed), size: 321 },
    layers: [
      { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: D('1'), size: 1000 },
      { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: D('2'), size: 2000 },
    ],
  }
}

function setup(options: FakeRegistryOptions = { auth: 'bearer', tokenTtlSeconds: 300 }, init: { maxManifestBytes?: number } = {}): { registry: FakeRegistry; resolver: ImageResolver } {
  const registry = new FakeRegistry(options)
  return { registry, resolver: new ImageResolver({ dispatcher: registry.agent, clock: new ManualClock() }, { tokenCacheSize: 10, ...init }) }
}

function request(reference: string, extra: Partial<ResolveImageRequest> = {}): ResolveImageRequest {
  return { manifestUrl: `${REGISTRY}/v2/${REPO}/manifests/${reference}`, username: ACCOUNT.username, password: ACCOUNT.password, signal: AbortSignal.timeout(4_000), ...extra }
}

/** An index with amd64, arm64/v8 and an attestation entry; returns the digests of each. */
function pushIndex(registry: FakeRegistry, contentType: string = MANIFEST_MEDIA_TYPES.ociIndex): { amd64: string; arm64: string; index: string } {
  const amd64 = registry.put(REPO, imageManifest('a'), MANIFEST_MEDIA_TYPES.ociManifest)
  const arm64 = registry.put(REPO, imageManifest('b'), MANIFEST_MEDIA_TYPES.ociManifest)
  const entry = (digest: string, platform: object): object => ({ mediaType: MANIFEST_MEDIA_TYPES.ociManifest, digest, size: 1, platform })
  const index = registry.put(REPO, {
    schemaVersion: 2,
    mediaType: contentType,
    manifests: [
      entry(amd64, { os: 'linux', architecture: 'amd64' }),
      entry(arm64, { os: 'linux', architecture: 'arm64', variant: 'v8' }),
      entry(D('9'), { os: 'unknown', architecture: 'unknown' }),
    ],
  }, contentType, 'multi')
  return { amd64, arm64, index }
}

describe('ImageResolver', TEST, () => {
  it('lists the config then the layers of an image manifest, with registry blob URLs and the token to send', TEST, async () => {
    const { registry, resolver } = setup()
    const digest = registry.put(REPO, imageManifest('c'), MANIFEST_MEDIA_TYPES.ociManifest, 'v1')
    const image = await resolver.resolveImage(request('v1'))
    assert.deepEqual(image, {
      registry: REGISTRY,
      repository: REPO,
      reference: 'v1',
      manifestDigest: digest,
      indexDigest: undefined,
      platform: undefined,
      authorization: 'Bearer tok-1',
      blobs: [
        { digest: D('c'), sizeBytes: 321, mediaType: 'application/vnd.oci.image.config.v1+json', url: `${REGISTRY}/v2/${REPO}/blobs/${D('c')}` },
        { digest: D('1'), sizeBytes: 1000, mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', url: `${REGISTRY}/v2/${REPO}/blobs/${D('1')}` },
        { digest: D('2'), sizeBytes: 2000, mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', url: `${REGISTRY}/v2/${REPO}/blobs/${D('2')}` },
      ],
    })
    const manifestRequest = registry.registryRequests().find((seen) => seen.path.includes('/manifests/'))
    assert.equal(manifestRequest?.accept, MANIFEST_ACCEPT)
  })

  const platforms = [
    { platform: undefined, expected: 'amd64', entry: 'linux/amd64' },
    { platform: 'linux/arm64', expected: 'arm64', entry: 'linux/arm64/v8' },
    { platform: 'linux/arm64/v8', expected: 'arm64', entry: 'linux/arm64/v8' },
  ] as const
  for (const contentType of [MANIFEST_MEDIA_TYPES.ociIndex, MANIFEST_MEDIA_TYPES.dockerManifestList]) {
    for (const { platform, expected, entry } of platforms) {
      it(`picks ${entry} for ${platform ?? 'the default platform'} from a ${contentType.split('.').at(-2) ?? ''} and fetches it by digest`, TEST, async () => {
        const { registry, resolver } = setup()
        const pushed = pushIndex(registry, contentType)
        const image = await resolver.resolveImage(request('multi', { platform }))
        assert.equal(image.manifestDigest, pushed[expected])
        assert.equal(image.indexDigest, pushed.index)
        assert.equal(image.platform, entry)
        assert.equal(image.blobs[0]?.digest, D(expected === 'amd64' ? 'a' : 'b'))
        assert.ok(registry.registryRequests().some((seen) => seen.path === `/v2/${REPO}/manifests/${pushed[expected]}`))
      })
    }
  }

  it('names the platforms an index has when the one asked for is not among them', TEST, async () => {
    const { registry, resolver } = setup()
    pushIndex(registry)
    const error = await rejection(resolver.resolveImage(request('multi', { platform: 'linux/s390x' })))
    assert.equal(error.code, 'INVALID_ARGUMENT')
    assert.equal(error.message, `registry reg.test, repository ${REPO}: the image has no linux/s390x manifest (available: linux/amd64, linux/arm64/v8)`)
  })

  it('refuses a platform manifest whose bytes do not hash to its digest', TEST, async () => {
    const { registry, resolver } = setup()
    const { amd64 } = pushIndex(registry)
    registry.corrupt(REPO, amd64, Buffer.from(JSON.stringify(imageManifest('f'))))
    const error = await rejection(resolver.resolveImage(request('multi')))
    assert.equal(error.code, 'DIGEST_MISMATCH')
    assert.ok(error.message.includes(amd64))
  })

  it('checks a manifest asked for by digest', TEST, async () => {
    const { registry, resolver } = setup()
    const digest = registry.put(REPO, imageManifest('c'), MANIFEST_MEDIA_TYPES.dockerManifest)
    assert.equal((await resolver.resolveImage(request(digest))).manifestDigest, digest)
    registry.corrupt(REPO, digest, Buffer.from(JSON.stringify(imageManifest('d'))))
    assert.equal((await rejection(resolver.resolveImage(request(digest)))).code, 'DIGEST_MISMATCH')
  })

  const failures = [
    { name: 'an unknown tag', prepare: (): void => undefined, extra: {}, code: 'SOURCE_STATUS', status: 404, message: /the registry has no manifest nope \(404 Not Found\)$/ },
    { name: 'no account on a registry that grants anonymous tokens nothing', prepare: (): void => undefined, extra: { username: undefined, password: undefined }, code: 'SOURCE_STATUS', status: 401, message: /refused access to manifest nope \(401 Unauthorized\)$/ },
    { name: 'a username without a password', prepare: (): void => undefined, extra: { password: undefined }, code: 'INVALID_ARGUMENT', status: undefined, message: /give both or neither/ },
    { name: 'a bad platform', prepare: (): void => undefined, extra: { platform: 'amd64' }, code: 'INVALID_ARGUMENT', status: undefined, message: /os\/arch\[\/variant\]/ },
    { name: 'a URL of another shape', prepare: (): void => undefined, extra: { manifestUrl: `${REGISTRY}/v2/${REPO}/tags/list` }, code: 'INVALID_ARGUMENT', status: undefined, message: /manifests/ },
    { name: 'a deadline already passed', prepare: (): void => undefined, extra: { signal: AbortSignal.abort(new DOMException('late', 'TimeoutError')) }, code: 'SOURCE_TIMEOUT', status: undefined, message: /before the deadline/ },
    { name: 'a cancelled request', prepare: (): void => undefined, extra: { signal: AbortSignal.abort() }, code: 'CANCELLED', status: undefined, message: /cancelled/ },
  ] as const
  for (const { name, extra, code, status, message } of failures) {
    it(`fails for ${name} with ${code}`, TEST, async () => {
      const { resolver } = setup()
      const error = await rejection(resolver.resolveImage(request('nope', extra)))
      assert.equal(error.code, code)
      assert.equal(error.details.sourceStatus, status)
      assert.match(error.message, message)
      assert.ok(!error.message.includes('\n'))
      assert.ok(!error.message.includes(ACCOUNT.password))
    })
  }

  it('refuses schema 1 clearly', TEST, async () => {
    const { registry, resolver } = setup({ auth: 'anonymous' })
    registry.put(REPO, { schemaVersion: 1, name: REPO, fsLayers: [] }, MANIFEST_MEDIA_TYPES.dockerSchema1Signed, 'old')
    const error = await rejection(resolver.resolveImage(request('old')))
    assert.equal(error.code, 'INVALID_ARGUMENT')
    assert.match(error.message, /schema 1 manifests are not supported/)
  })

  it('caps the manifest size', TEST, async () => {
    const { registry, resolver } = setup({ auth: 'anonymous' }, { maxManifestBytes: 100 })
    registry.put(REPO, imageManifest('c'), MANIFEST_MEDIA_TYPES.ociManifest, 'v1')
    const error = await rejection(resolver.resolveImage(request('v1')))
    assert.equal(error.code, 'INVALID_ARGUMENT')
    assert.match(error.message, /larger than 100 bytes/)
  })

  it('sends nothing to an anonymous registry, and a caller\'s Authorization as is', TEST, async () => {
    const { registry, resolver } = setup({ auth: 'anonymous' })
    registry.put(REPO, imageManifest('c'), MANIFEST_MEDIA_TYPES.ociManifest, 'v1')
    assert.equal((await resolver.resolveImage(request('v1', { username: undefined, password: undefined }))).authorization, undefined)
    const given = await resolver.resolveImage(request('v1', { username: undefined, password: undefined, headers: { Authorization: 'Bearer harbor-token' } }))
    assert.equal(given.authorization, 'Bearer harbor-token')
    assert.equal(registry.registryRequests().at(-1)?.authorization, 'Bearer harbor-token')
  })

  it('gets a new token when the registry stops taking the cached one', TEST, async () => {
    const { registry, resolver } = setup()
    const digest = registry.put(REPO, imageManifest('c'), MANIFEST_MEDIA_TYPES.ociManifest, 'v1')
    assert.equal((await resolver.resolveImage(request('v1'))).authorization, 'Bearer tok-1')
    registry.revokeTokens()
    const again = await resolver.resolveImage(request('v1'))
    assert.equal(again.authorization, 'Bearer tok-2')
    assert.equal(again.manifestDigest, digest)
    assert.equal(sha256Digest(Buffer.from(JSON.stringify(imageManifest('c')))), digest)
  })
})
