import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { DamselflyError } from '../protocol/damselfly-error.js'
import { MANIFEST_ACCEPT, MANIFEST_MEDIA_TYPES, parseManifest } from './image-manifest.js'

const TEST = { timeout: 5_000 }
const D = (char: string): string => `sha256:${char.repeat(64)}`
const CONFIG = { mediaType: 'application/vnd.oci.image.config.v1+json', digest: D('c'), size: 100 }
const LAYER = { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: D('1'), size: 2000 }
const IMAGE = { schemaVersion: 2, config: CONFIG, layers: [LAYER] }
const INDEX = { schemaVersion: 2, manifests: [{ mediaType: MANIFEST_MEDIA_TYPES.ociManifest, digest: D('e'), size: 500, platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } }] }
const SUBJECT = 'registry r, repository x'

const json = (value: object): Buffer => Buffer.from(JSON.stringify(value))

describe('parseManifest', TEST, () => {
  const kinds = [
    { name: 'OCI manifest by content type', body: IMAGE, contentType: MANIFEST_MEDIA_TYPES.ociManifest, kind: 'image', mediaType: MANIFEST_MEDIA_TYPES.ociManifest },
    { name: 'Docker schema 2 by content type with parameters', body: { ...IMAGE, mediaType: MANIFEST_MEDIA_TYPES.dockerManifest }, contentType: `${MANIFEST_MEDIA_TYPES.dockerManifest}; charset=utf-8`, kind: 'image', mediaType: MANIFEST_MEDIA_TYPES.dockerManifest },
    { name: 'OCI index', body: INDEX, contentType: MANIFEST_MEDIA_TYPES.ociIndex, kind: 'index', mediaType: MANIFEST_MEDIA_TYPES.ociIndex },
    { name: 'Docker manifest list', body: { ...INDEX, mediaType: MANIFEST_MEDIA_TYPES.dockerManifestList }, contentType: MANIFEST_MEDIA_TYPES.dockerManifestList, kind: 'index', mediaType: MANIFEST_MEDIA_TYPES.dockerManifestList },
    { name: 'the body\'s mediaType under application/json', body: { ...INDEX, mediaType: MANIFEST_MEDIA_TYPES.dockerManifestList }, contentType: 'application/json', kind: 'index', mediaType: MANIFEST_MEDIA_TYPES.dockerManifestList },
    { name: 'an index by its fields alone', body: INDEX, contentType: undefined, kind: 'index', mediaType: MANIFEST_MEDIA_TYPES.ociIndex },
    { name: 'an image by its fields alone', body: IMAGE, contentType: 'text/plain', kind: 'image', mediaType: MANIFEST_MEDIA_TYPES.ociManifest },
  ] as const
  for (const { name, body, contentType, kind, mediaType } of kinds) {
    it(`reads ${name}`, TEST, () => {
      const parsed = parseManifest(json(body), contentType, SUBJECT)
      assert.equal(parsed.kind, kind)
      assert.equal(parsed.mediaType, mediaType)
    })
  }

  it('reads descriptors and platforms', TEST, () => {
    assert.deepEqual(parseManifest(json(IMAGE), undefined, SUBJECT), {
      kind: 'image',
      mediaType: MANIFEST_MEDIA_TYPES.ociManifest,
      config: { mediaType: CONFIG.mediaType, digest: CONFIG.digest, sizeBytes: 100 },
      layers: [{ mediaType: LAYER.mediaType, digest: LAYER.digest, sizeBytes: 2000 }],
    })
    const index = parseManifest(json({ ...INDEX, manifests: [...INDEX.manifests, { mediaType: MANIFEST_MEDIA_TYPES.ociManifest, digest: D('f'), size: 1 }] }), undefined, SUBJECT)
    assert.equal(index.kind, 'index')
    if (index.kind !== 'index') return
    assert.deepEqual(index.manifests.map((entry) => entry.platform), [{ os: 'linux', architecture: 'arm64', variant: 'v8' }, undefined])
  })

  const refused = [
    { name: 'schema 1 by content type', body: Buffer.from('{}'), contentType: MANIFEST_MEDIA_TYPES.dockerSchema1Signed, message: /schema 1 manifests are not supported/ },
    { name: 'schema 1 by schemaVersion', body: json({ schemaVersion: 1, fsLayers: [] }), contentType: 'application/json', message: /schema 1 manifests are not supported/ },
    { name: 'not JSON', body: Buffer.from('<html>'), contentType: MANIFEST_MEDIA_TYPES.ociManifest, message: /not JSON/ },
    { name: 'an artifact type', body: json({ schemaVersion: 2, mediaType: 'application/vnd.example+json' }), contentType: 'application/vnd.example+json', message: /unsupported manifest type "application\/vnd.example\+json"/ },
    { name: 'an image without layers', body: json({ schemaVersion: 2, config: CONFIG }), contentType: MANIFEST_MEDIA_TYPES.ociManifest, message: /no layers list/ },
    { name: 'a bad digest', body: json({ ...IMAGE, layers: [{ ...LAYER, digest: 'sha256:xyz' }] }), contentType: undefined, message: /layers\[0\] has an unusable digest/ },
    { name: 'a crc32 digest', body: json({ ...IMAGE, config: { ...CONFIG, digest: 'crc32:00000000' } }), contentType: undefined, message: /config has a crc32 digest/ },
    { name: 'a negative size', body: json({ ...IMAGE, layers: [{ ...LAYER, size: -1 }] }), contentType: undefined, message: /layers\[0\] has no valid size/ },
    { name: 'a descriptor without mediaType', body: json({ ...IMAGE, config: { digest: CONFIG.digest, size: 1 } }), contentType: undefined, message: /config has no mediaType/ },
  ]
  for (const { name, body, contentType, message } of refused) {
    it(`refuses ${name} with INVALID_ARGUMENT`, TEST, () => {
      assert.throws(() => parseManifest(body, contentType, SUBJECT), (error: unknown) => {
        assert.ok(error instanceof DamselflyError)
        assert.equal(error.code, 'INVALID_ARGUMENT')
        assert.match(error.message, message)
        assert.ok(error.message.startsWith(SUBJECT))
        return true
      })
    })
  }

  it('accepts every manifest type', TEST, () => {
    for (const type of Object.values(MANIFEST_MEDIA_TYPES)) assert.ok(MANIFEST_ACCEPT.includes(type), type)
  })
})
