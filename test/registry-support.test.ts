import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { appendFileSync, readFileSync } from 'node:fs'
import { get } from 'node:https'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { sha256File, tempDir } from './support/files.js'
import { generateImage, pushImage, type OciImage } from './support/oci-image.js'
import { waitFor } from './support/processes.js'
import { countBlobGets, startRegistry, type RegistryProcess } from './support/registry.js'

// The support code the e2e suites stand on: a real distribution registry, a generated OCI image,
// a real skopeo push, and a count of blob GETs taken from the registry's own access log.

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json'
const CREDS = { user: 'testuser', password: 'testpass' } as const
const BASIC = `Basic ${Buffer.from(`${CREDS.user}:${CREDS.password}`).toString('base64')}`

async function sha256OfBody(response: Response): Promise<{ digest: string; bytes: number }> {
  assert.ok(response.body !== null, 'the response has a body')
  const hash = createHash('sha256')
  let bytes = 0
  for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
    hash.update(chunk)
    bytes += chunk.byteLength
  }
  return { digest: `sha256:${hash.digest('hex')}`, bytes }
}

function httpsGet(url: string, caPath: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    get(url, { ca: readFileSync(caPath) }, (res) => {
      let body = ''
      res.on('data', (chunk: Buffer) => (body += chunk.toString()))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
    }).on('error', reject)
  })
}

describe('registry support: a real docker-registry, a generated image and skopeo', { timeout: 120_000 }, () => {
  let dir!: Awaited<ReturnType<typeof tempDir>>
  let image!: OciImage
  const registries: RegistryProcess[] = []

  before(async () => {
    dir = await tempDir('registry-support')
    image = await generateImage(join(dir.path, 'image'), 'v1', [1, 5, 20])
  })

  after(async () => {
    await Promise.all(registries.map((registry) => registry.kill()))
    await dir.remove()
  })

  describe('a plain HTTP registry', () => {
    let registry!: RegistryProcess

    before(async () => {
      registry = await startRegistry(join(dir.path, 'plain'))
      registries.push(registry)
    })

    it('generates a layout whose blobs match their digests', { timeout: 30_000 }, async () => {
      assert.equal(image.layers.length, 3)
      assert.deepEqual(image.layers.map((layer) => layer.mediaType), Array(3).fill('application/vnd.oci.image.layer.v1.tar+gzip'))
      // gzip -1 of random bytes is a little larger than the input.
      image.layers.forEach((layer, i) => {
        const mib = [1, 5, 20][i]! * 1024 * 1024
        assert.ok(layer.size > mib && layer.size < mib * 1.01, `layer ${i} is ${layer.size} bytes`)
      })
      for (const blob of [image.manifestDigest, image.configDigest, ...image.layers.map((layer) => layer.digest)]) {
        assert.equal(`sha256:${await sha256File(image.blobPath(blob))}`, blob)
      }
    })

    it('takes a skopeo push byte-identically: same manifest digest, every blob intact', { timeout: 60_000 }, async () => {
      await pushImage(image.layoutDir, image.tag, registry.host, 'test/img')

      const manifest = await fetch(`${registry.url}/v2/test/img/manifests/${image.tag}`, { headers: { Accept: OCI_MANIFEST } })
      assert.equal(manifest.status, 200)
      assert.equal(manifest.headers.get('content-type'), OCI_MANIFEST)
      assert.equal(manifest.headers.get('docker-content-digest'), image.manifestDigest)
      const body = Buffer.from(await manifest.arrayBuffer())
      assert.deepEqual(body, readFileSync(image.blobPath(image.manifestDigest)))

      // Without an OCI Accept header distribution 2.8 hides OCI manifests: a mirror must forward Accept.
      const bare = await fetch(`${registry.url}/v2/test/img/manifests/${image.tag}`)
      assert.equal(bare.status, 404)
      await bare.body?.cancel()
    })

    it('counts exactly the blob GETs it served, from its own access log', { timeout: 30_000 }, async () => {
      assert.equal(registry.blobGets(), 0, 'a push sends HEAD, POST, PATCH and PUT on blobs, none of them counted')

      const blobs = [image.config, ...image.layers]
      for (const blob of blobs) {
        const response = await fetch(`${registry.url}/v2/test/img/blobs/${blob.digest}`)
        assert.equal(response.status, 200)
        assert.deepEqual(await sha256OfBody(response), { digest: blob.digest, bytes: blob.size })
      }
      const largest = image.layers[2]!
      const ranged = await fetch(`${registry.url}/v2/test/img/blobs/${largest.digest}`, { headers: { Range: 'bytes=0-1023' } })
      assert.equal(ranged.status, 206)
      assert.equal((await ranged.arrayBuffer()).byteLength, 1024)
      const head = await fetch(`${registry.url}/v2/test/img/blobs/${largest.digest}`, { method: 'HEAD' })
      assert.equal(head.status, 200)
      const missing = await fetch(`${registry.url}/v2/test/img/blobs/sha256:${'0'.repeat(64)}`)
      assert.equal(missing.status, 404)
      await missing.body?.cancel()

      // Four whole blobs and one range; the HEAD and the 404 are not blob bytes served.
      const expected = blobs.length + 1
      await waitFor(() => registry.blobGets() >= expected, `${expected} blob GETs in ${registry.accessLogPath}`, 5_000)
      const settled = await registry.settledRequests()
      assert.equal(countBlobGets(settled), expected)
      assert.equal(countBlobGets(settled, largest.digest), 2)
      assert.equal(countBlobGets(settled, image.configDigest), 1)
      const gets = settled.filter((r) => r.method === 'GET' && r.path.includes('/blobs/'))
      assert.deepEqual(gets.map((r) => r.status), [200, 200, 200, 200, 206, 404])
      assert.deepEqual(gets.slice(0, 4).map((r) => r.bodyBytes), blobs.map((blob) => blob.size))
    })
    it('counts a request whose access-log line comes late, once the log is quiet', { timeout: 30_000 }, async () => {
      const before = registry.requests().length
      const line = `127.0.0.1 - - [01/Jan/2026:00:00:00 +0000] "GET /v2/test/img/blobs/${image.configDigest} HTTP/1.1" 200 ${image.config.size} "" "late-client"\n`
      // The registry writes a line as its handler returns, which may be after the client is done.
      const late = setTimeout(() => appendFileSync(registry.accessLogPath, line), 200)
      try {
        assert.equal(registry.requests().length, before, 'not there yet')
        const settled = await registry.settledRequests()
        assert.equal(settled.length, before + 1)
        assert.equal(settled.at(-1)?.userAgent, 'late-client')
      } finally {
        clearTimeout(late)
      }
    })
  })

  describe('a registry behind htpasswd basic auth', () => {
    let registry!: RegistryProcess

    before(async () => {
      registry = await startRegistry(join(dir.path, 'auth'), { htpasswd: CREDS })
      registries.push(registry)
    })

    it('answers /v2/ with 401 and a Basic challenge without credentials, 200 with them', { timeout: 15_000 }, async () => {
      const anonymous = await fetch(`${registry.url}/v2/`)
      assert.equal(anonymous.status, 401)
      assert.equal(anonymous.headers.get('www-authenticate'), 'Basic realm="basic-realm"')
      await anonymous.body?.cancel()
      const wrong = await fetch(`${registry.url}/v2/`, { headers: { Authorization: `Basic ${Buffer.from('testuser:nope').toString('base64')}` } })
      assert.equal(wrong.status, 401)
      await wrong.body?.cancel()
      const authorised = await fetch(`${registry.url}/v2/`, { headers: { Authorization: BASIC } })
      assert.equal(authorised.status, 200)
      await authorised.body?.cancel()
    })

    it('refuses an anonymous push and takes one with credentials', { timeout: 60_000 }, async () => {
      await assert.rejects(pushImage(image.layoutDir, image.tag, registry.host, 'test/img'), /skopeo copy .* failed.*authentication required/s)
      await pushImage(image.layoutDir, image.tag, registry.host, 'test/img', CREDS)

      const path = `/v2/test/img/manifests/${image.tag}`
      const anonymous = await fetch(`${registry.url}${path}`, { headers: { Accept: OCI_MANIFEST } })
      assert.equal(anonymous.status, 401)
      await anonymous.body?.cancel()
      const manifest = await fetch(`${registry.url}${path}`, { headers: { Accept: OCI_MANIFEST, Authorization: BASIC } })
      assert.equal(manifest.status, 200)
      assert.equal(manifest.headers.get('docker-content-digest'), image.manifestDigest)
      await manifest.body?.cancel()
      const layer = image.layers[0]!
      const blob = await fetch(`${registry.url}/v2/test/img/blobs/${layer.digest}`, { headers: { Authorization: BASIC } })
      assert.deepEqual(await sha256OfBody(blob), { digest: layer.digest, bytes: layer.size })
      await waitFor(() => registry.blobGets() >= 1, 'the authorised blob GET in the access log', 5_000)
      assert.equal(countBlobGets(await registry.settledRequests()), 1)
    })
  })

  describe('a registry on HTTPS with a self-signed certificate', () => {
    let registry!: RegistryProcess

    before(async () => {
      registry = await startRegistry(join(dir.path, 'tls'), { tls: true })
      registries.push(registry)
    })

    it('serves /v2/ to a client trusting its CA, takes a verified push, and stops on SIGTERM', { timeout: 60_000 }, async () => {
      assert.match(registry.url, /^https:\/\/127\.0\.0\.1:\d+$/)
      const caPath = registry.caPath!
      assert.deepEqual(await httpsGet(`${registry.url}/v2/`, caPath), { status: 200, body: '{}' })
      await assert.rejects(fetch(`${registry.url}/v2/`), 'an untrusted self-signed certificate is refused')

      await pushImage(image.layoutDir, image.tag, registry.host, 'test/img', undefined, { caPath })
      const tags = await httpsGet(`${registry.url}/v2/test/img/tags/list`, caPath)
      assert.deepEqual(JSON.parse(tags.body), { name: 'test/img', tags: [image.tag] })

      const started = Date.now()
      await registry.stop()
      assert.ok(Date.now() - started < 5_000, 'it exits on SIGTERM, before the SIGKILL grace period')
      assert.ok(registry.child.exitCode !== null || registry.child.signalCode !== null)
      await registry.stop()
    })
  })
})
