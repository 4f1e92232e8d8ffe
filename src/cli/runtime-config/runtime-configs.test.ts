import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm, writeFile, access } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { applyRuntimeConfig } from './runtime-configs.js'

const TEST = { timeout: 10_000 }
const MIRROR = 'http://127.0.0.1:65001'

async function withDir(run: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'damselfly-runtime-config-'))
  try {
    await run(dir)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

const missing = (path: string): Promise<boolean> => access(path).then(() => false, () => true)

describe('damselfly config', TEST, () => {
  it('writes containerd hosts.toml with the X-Dragonfly-Registry header, and undoes it', TEST, () =>
    withDir(async (dir) => {
      await applyRuntimeConfig('containerd', dir, { mirror: MIRROR, registry: 'http://127.0.0.1:5000' }, false)
      const text = await readFile(join(dir, '127.0.0.1:5000', 'hosts.toml'), 'utf8')
      assert.match(text, /^server = "http:\/\/127\.0\.0\.1:5000"$/m)
      assert.match(text, /^\[host\."http:\/\/127\.0\.0\.1:65001"\]$/m)
      assert.match(text, /capabilities = \["pull", "resolve"\]/)
      assert.match(text, /X-Dragonfly-Registry = \["http:\/\/127\.0\.0\.1:5000"\]/)
      await applyRuntimeConfig('containerd', dir, { mirror: MIRROR, registry: 'http://127.0.0.1:5000' }, true)
      assert.ok(await missing(join(dir, '127.0.0.1:5000', 'hosts.toml')))
    }))

  it('writes containerd _default for every registry', TEST, () =>
    withDir(async (dir) => {
      await applyRuntimeConfig('containerd', dir, { mirror: MIRROR, registry: undefined }, false)
      const text = await readFile(join(dir, '_default', 'hosts.toml'), 'utf8')
      assert.match(text, /^\[host\."http:\/\/127\.0\.0\.1:65001"\]$/m)
      assert.doesNotMatch(text, /^server/m)
    }))

  it('keeps a replaced file as a backup and restores it on undo', TEST, () =>
    withDir(async (dir) => {
      const path = join(dir, 'registries.conf')
      await writeFile(path, 'original\n')
      await applyRuntimeConfig('podman', path, { mirror: MIRROR, registry: 'ghcr.io' }, false)
      const written = await readFile(path, 'utf8')
      assert.match(written, /prefix = "ghcr\.io"\nlocation = "ghcr\.io"\n\n/)
      assert.match(written, /\[\[registry\.mirror\]\]\nlocation = "127\.0\.0\.1:65001"\ninsecure = true/)
      await applyRuntimeConfig('podman', path, { mirror: MIRROR, registry: 'http://127.0.0.1:5000' }, false)
      assert.match(await readFile(path, 'utf8'), /location = "127\.0\.0\.1:5000"\ninsecure = true/)
      await applyRuntimeConfig('podman', path, { mirror: MIRROR, registry: 'http://127.0.0.1:5000' }, true)
      assert.equal(await readFile(path, 'utf8'), 'original\n')
    }))

  it('adds the mirror to Docker daemon.json and keeps the other keys', TEST, () =>
    withDir(async (dir) => {
      const path = join(dir, 'daemon.json')
      await writeFile(path, JSON.stringify({ 'log-driver': 'journald', 'registry-mirrors': ['https://other.example'] }))
      await applyRuntimeConfig('docker', path, { mirror: MIRROR, registry: undefined }, false)
      const json = JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>
      assert.deepEqual(json['registry-mirrors'], [MIRROR, 'https://other.example'])
      assert.equal(json['log-driver'], 'journald')
      await writeFile(join(dir, 'broken.json'), '{nope')
      await assert.rejects(applyRuntimeConfig('docker', join(dir, 'broken.json'), { mirror: MIRROR, registry: undefined }, false), /not valid JSON/)
    }))
})
