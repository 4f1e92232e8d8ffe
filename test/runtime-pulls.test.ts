import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { startContainerd } from './support/containerd.js'
import { tempDir } from './support/files.js'
import { generateImage, pushImage, type OciImage } from './support/oci-image.js'
import { podmanStore } from './support/podman.js'
import {
  ALLOW_LOOPBACK_ORIGINS, cliPath, metricValue, run, startDaemon, startScheduler, type DaemonProcess,
} from './support/processes.js'
import { startRegistry, type RegistryProcess } from './support/registry.js'

const REMOTE = 'damselfly_dfdaemon_download_traffic_bytes_total{type="remote_peer"}'
const BACK_TO_SOURCE = 'damselfly_dfdaemon_download_traffic_bytes_total{type="back_to_source"}'
const PROXIED_BLOBS = 'damselfly_dfdaemon_proxy_request_total{kind="p2p"}'
const REPO = 'test/img'
const TAG = 'v1'
// One layer of 200 MiB, as the acceptance asks: large enough that pieces really travel between peers.
const LAYER_SIZES_MIB = [1, 5, 200] as const

describe('container runtimes pull through the daemon\'s registry mirror', { timeout: 300_000 }, () => {
  let dir!: Awaited<ReturnType<typeof tempDir>>
  let registry!: RegistryProcess
  let image!: OciImage
  let daemonA!: DaemonProcess
  let daemonB!: DaemonProcess
  let ref = ''
  const stops: Array<() => Promise<void>> = []

  before(async () => {
    dir = await tempDir('runtime-pulls')
    registry = await startRegistry(join(dir.path, 'registry'))
    stops.push(() => registry.stop())
    image = await generateImage(join(dir.path, 'image'), TAG, LAYER_SIZES_MIB)
    await pushImage(image.layoutDir, TAG, registry.host, REPO)
    ref = `${registry.host}/${REPO}:${TAG}`
    const scheduler = await startScheduler(join(dir.path, 'scheduler'))
    stops.push(() => scheduler.stop())
    const daemon = async (name: string, extra: string[] = [], env: Record<string, string> = {}): Promise<DaemonProcess> => {
      const started = await startDaemon(join(dir.path, name), { cluster: scheduler, args: ['--scheduler', scheduler.address, '--registry-mirror', registry.url, ...extra], env })
      stops.push(() => started.stop())
      return started
    }
    await daemon('seed', ['--seed'], ALLOW_LOOPBACK_ORIGINS)
    daemonA = await daemon('daemon-a')
    daemonB = await daemon('daemon-b')
  })

  after(async () => {
    for (const stop of stops.reverse()) await stop().catch(() => undefined)
    await (dir as typeof dir | undefined)?.remove()
  })

  const blobs = (): OciImage['layers'] => [image.config, ...image.layers]
  const totalBlobBytes = (): number => blobs().reduce((sum, blob) => sum + blob.size, 0)

  /** Pieces are ranged GETs, so what counts is bytes: each blob's bytes left the registry once at most. */
  async function assertRegistrySentEachBlobAtMostOnce(): Promise<void> {
    const requests = await registry.settledRequests()
    for (const blob of blobs()) {
      const served = requests
        .filter((request) => request.method === 'GET' && request.status >= 200 && request.status < 300 && request.path.endsWith(`/blobs/${blob.digest}`))
        .reduce((sum, request) => sum + request.bodyBytes, 0)
      assert.ok(served <= blob.size, `the registry sent ${served} bytes of ${blob.digest} (${blob.size} bytes)`)
    }
  }

  /** The daemon's mirror as runtimes should be told it: it listens on every interface, so name loopback. */
  const mirrorUrl = (daemon: DaemonProcess): string => `http://${daemon.proxyAddress().replace('0.0.0.0', '127.0.0.1')}`

  async function damselflyConfig(args: readonly string[]): Promise<void> {
    const result = await run(process.execPath, [cliPath('damselfly'), 'config', ...args], { timeoutMs: 30_000 })
    assert.equal(result.code, 0, `damselfly config ${args.join(' ')}: ${result.stderr}`)
  }

  /** Bytes a daemon received for tasks, from peers or the registry: a runtime that bypassed the mirror adds none. */
  async function bytesFetched(daemon: DaemonProcess): Promise<number> {
    return (await metricValue(daemon.metricsAddress(), REMOTE)) + (await metricValue(daemon.metricsAddress(), BACK_TO_SOURCE))
  }

  it('containerd (ctr, hosts.toml from `damselfly config containerd`) pulls through A, then a second containerd through B', { timeout: 180_000 }, async () => {
    for (const [name, daemon] of [['a', daemonA], ['b', daemonB]] as const) {
      const certs = join(dir.path, `certs-${name}`)
      await damselflyConfig(['containerd', '--mirror', mirrorUrl(daemon), '--registry', registry.url, '--path', certs])
      const hostsToml = await readFile(join(certs, registry.host, 'hosts.toml'), 'utf8')
      assert.match(hostsToml, new RegExp(`X-Dragonfly-Registry = \\["${registry.url}"\\]`))

      const containerd = await startContainerd(join(dir.path, `containerd-${name}`))
      stops.push(() => containerd.stop())
      const pulled = await containerd.pull(ref, certs, 'native')
      assert.equal(pulled.code, 0, `ctr images pull through daemon ${name}: ${pulled.stderr}${pulled.stdout.slice(-2000)}`)
      assert.equal(await containerd.imageDigest(ref), image.manifestDigest)
      assert.deepEqual(await containerd.leases(), [], 'a finished pull leaves no lease pinning content')
      // containerd falls back to the registry per blob when the mirror fails; the daemon must have fetched them all.
      assert.ok((await bytesFetched(daemon)) >= totalBlobBytes(), `daemon ${name} fetched every blob (${await bytesFetched(daemon)} of ${totalBlobBytes()} bytes)`)
      await containerd.stop()
    }
    await assertRegistrySentEachBlobAtMostOnce()
    assert.ok((await metricValue(daemonB.metricsAddress(), REMOTE)) > 0, 'daemon B got blob bytes from peers')
  })

  it('podman (vfs, registries.conf naming the daemon as mirror) pulls through A, then through B, with the same image ID', { timeout: 180_000 }, async () => {
    const ids: string[] = []
    for (const [name, daemon] of [['a', daemonA], ['b', daemonB]] as const) {
      const registriesConf = join(dir.path, `registries-${name}.conf`)
      await damselflyConfig(['podman', '--mirror', mirrorUrl(daemon), '--registry', registry.host, '--path', registriesConf])
      const written = await readFile(registriesConf, 'utf8')
      assert.match(written, new RegExp(`\\[\\[registry\\.mirror\\]\\]\\nlocation = "${new URL(mirrorUrl(daemon)).host}"\\ninsecure = true`))
      const proxiedBefore = await metricValue(daemon.metricsAddress(), PROXIED_BLOBS)
      const store = podmanStore(join(dir.path, `podman-${name}`))
      const pulled = await store.pull(ref, registriesConf)
      assert.equal(pulled.code, 0, `podman pull through daemon ${name}: ${pulled.stderr}`)
      ids.push(await store.imageId(ref))
      // c/image falls back to the registry when the mirror fails at manifest time; the blobs must have come through the daemon.
      const proxied = (await metricValue(daemon.metricsAddress(), PROXIED_BLOBS)) - proxiedBefore
      assert.ok(proxied >= blobs().length, `daemon ${name} answered ${proxied} blob requests from podman, want ${blobs().length}`)
    }
    assert.deepEqual(ids, [image.configDigest.slice('sha256:'.length), image.configDigest.slice('sha256:'.length)])
    await assertRegistrySentEachBlobAtMostOnce()
  })

  it('containerd with Dragonfly\'s hosts.toml reaches any registry through a daemon whose default is another: per registry with X-Dragonfly-Registry, and _default with ns', { timeout: 180_000 }, async () => {
    // A TLS registry whose CA only the daemon trusts: containerd going around the mirror to it fails,
    // so a pull through _default succeeds only through the daemon.
    const secure = await startRegistry(join(dir.path, 'other-registry'), { tls: true })
    stops.push(() => secure.stop())
    const plainImage = await generateImage(join(dir.path, 'other-image-plain'), TAG, [1, 2])
    await pushImage(plainImage.layoutDir, TAG, registry.host, 'test/other')
    const secureImage = await generateImage(join(dir.path, 'other-image-tls'), TAG, [1, 3])
    await pushImage(secureImage.layoutDir, TAG, secure.host, 'test/other', undefined, { caPath: secure.caPath! })
    // No --registry-mirror: the default stays Docker Hub, and no allowed list names these registries.
    const node = await startDaemon(join(dir.path, 'daemon-any-registry'), { env: { DFDAEMON_SOURCE_CA_CERT: secure.caPath! } })
    stops.push(() => node.stop())
    const containerd = await startContainerd(join(dir.path, 'containerd-any-registry'))
    stops.push(() => containerd.stop())

    const cases = [
      { how: 'X-Dragonfly-Registry', image: plainImage, ref: `${registry.host}/test/other:${TAG}`, config: ['--registry', registry.url] },
      { how: '_default and ns', image: secureImage, ref: `${secure.host}/test/other:${TAG}`, config: [] },
    ]
    for (const { how, image: pulledImage, ref: pulledRef, config } of cases) {
      const certs = join(dir.path, `certs-any-${how.startsWith('X') ? 'header' : 'default'}`)
      await damselflyConfig(['containerd', '--mirror', mirrorUrl(node), '--path', certs, ...config])
      const fetchedBefore = await bytesFetched(node)
      const pulled = await containerd.pull(pulledRef, certs, 'native')
      assert.equal(pulled.code, 0, `ctr images pull with ${how}: ${pulled.stderr}${pulled.stdout.slice(-2000)}`)
      assert.equal(await containerd.imageDigest(pulledRef), pulledImage.manifestDigest)
      const blobBytes = [pulledImage.config, ...pulledImage.layers].reduce((sum, blob) => sum + blob.size, 0)
      const fetched = (await bytesFetched(node)) - fetchedBefore
      assert.ok(fetched >= blobBytes, `with ${how}, the daemon fetched ${fetched} of ${blobBytes} blob bytes: containerd went around the mirror`)
    }
  })
})
