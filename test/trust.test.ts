import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { readdir, readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { taskIdFor } from '../src/protocol/task-id.js'
import { MiB, sha256File, tempDir } from './support/files.js'
import { makeRandomFile, OriginServer, type Content } from './support/origin-server.js'
import {
  ALLOW_LOOPBACK_ORIGINS, dfget, metricValue, startDaemon, startScheduler, waitFor, type DaemonProcess, type SchedulerProcess,
} from './support/processes.js'
import { RogueHost } from './support/rogue-host.js'

const REMOTE = 'damselfly_dfdaemon_download_traffic_bytes_total{type="remote_peer"}'

/** Every regular file under `dir`. */
async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = []
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) out.push(...(await filesUnder(path)))
    else if (entry.isFile()) out.push(path)
  }
  return out
}

describe('trust: what a host of the cluster gone bad cannot do, and where a client\'s credentials go', { timeout: 300_000 }, () => {
  let dir!: Awaited<ReturnType<typeof tempDir>>
  let origin!: OriginServer
  let content!: Content
  let scheduler!: SchedulerProcess
  let seed!: DaemonProcess
  let nodes!: DaemonProcess[]
  const stops: Array<() => Promise<void>> = []

  before(async () => {
    dir = await tempDir('trust')
    origin = await OriginServer.start()
    content = await makeRandomFile(join(dir.path, 'content.bin'), 8 * MiB)
    scheduler = await startScheduler(join(dir.path, 'scheduler'))
    stops.push(() => scheduler.stop())
    seed = await startDaemon(join(dir.path, 'seed'), { cluster: scheduler, args: ['--seed', '--scheduler', scheduler.address], env: ALLOW_LOOPBACK_ORIGINS })
    stops.push(() => seed.stop())
    nodes = []
    for (const name of ['a', 'b']) {
      const node = await startDaemon(join(dir.path, name), { cluster: scheduler, args: ['--scheduler', scheduler.address, '--registry-mirror', origin.baseUrl] })
      stops.push(() => node.stop())
      nodes.push(node)
    }
  })

  after(async () => {
    for (const stop of stops.reverse()) await stop().catch(() => undefined)
    await (origin as OriginServer | undefined)?.close()
    await (dir as typeof dir | undefined)?.remove()
  })

  it('a host that claims a fresh task\'s pieces is never a parent: dfget gets the origin\'s bytes', { timeout: 120_000 }, async () => {
    const url = origin.serve('/poisoned', content)
    const poisoner = await RogueHost.start(scheduler, 'normal', () => Buffer.alloc(content.length, 0x66))
    stops.push(() => poisoner.stop())
    poisoner.claim(RogueHost.download(url))
    await waitFor(async () => (await readFile(join(dir.path, 'scheduler', 'scheduler.log'), 'utf8')).includes('"peerId":"rogue-'), 'the poisoner to register')
    const output = join(dir.path, 'poisoned.bin')
    const result = await dfget([url, '-O', output, '-e', nodes[0]!.socketPath, '--no-progress'], { timeoutMs: 60_000 })
    assert.equal(result.code, 0, result.stderr)
    assert.equal(await sha256File(output), content.sha256)
    assert.equal(poisoner.requests, 0, 'nobody asked the poisoner for a piece')
  })

  it('a seed gone bad cannot hand a client a forged blob whole; its digests are dropped and the blob is fetched from the origin', { timeout: 120_000 }, async () => {
    // A cluster of its own, whose only seed forges every blob it is asked to fetch.
    const badScheduler = await startScheduler(join(dir.path, 'bad-scheduler'))
    stops.push(() => badScheduler.stop())
    const forgedFile = await makeRandomFile(join(dir.path, 'forged.bin'), content.length)
    const forgedBytes = await readFile(forgedFile.file)
    const rogueSeed = await RogueHost.start(badScheduler, 'seed', () => forgedBytes)
    stops.push(() => rogueSeed.stop())
    const node = await startDaemon(join(dir.path, 'c'), { cluster: badScheduler, args: ['--scheduler', badScheduler.address, '--registry-mirror', origin.baseUrl] })
    stops.push(() => node.stop())
    const digest = `sha256:${content.sha256}`
    const path = `/v2/team/app/blobs/${digest}`
    origin.serve(path, content)
    const proxy = `http://${node.proxyAddress()}${path}`
    const first = await fetch(proxy).then(
      async (response) => Buffer.from(await response.arrayBuffer()),
      () => Buffer.alloc(0),
    ).catch(() => Buffer.alloc(0))
    assert.ok(rogueSeed.requests > 0, 'the node took pieces from the bad seed')
    assert.ok(first.length < content.length, `the client got ${first.length} of ${content.length} bytes: never the whole forged blob`)
    let second = Buffer.alloc(0)
    await waitFor(async () => {
      // While the task is fetched again a response may still be cut short: that is "not yet".
      try {
        const response = await fetch(proxy)
        second = Buffer.from(await response.arrayBuffer())
        return response.status === 200 && second.length === content.length
      } catch {
        return false
      }
    }, 'the blob to be served whole', 60_000)
    assert.equal(`sha256:${createHash('sha256').update(second).digest('hex')}`, digest, 'and it is the origin\'s blob')
    const metrics = await fetch(`http://${badScheduler.metricsAddress}/metrics`).then((response) => response.text())
    assert.match(metrics, /damselfly_scheduler_content_digest_mismatch_total 1\b/, 'the scheduler dropped the forged digests')
    const requestsBefore = rogueSeed.requests
    await fetch(proxy).then((response) => response.arrayBuffer())
    assert.equal(rogueSeed.requests, requestsBefore, 'and nobody asks the bad seed again')
  })

  it('a client\'s credentials reach the seed that fetches for it, and are never logged or stored', { timeout: 120_000 }, async () => {
    const secret = `Bearer s3cr3t-${createHash('sha256').update(String(Date.now())).digest('hex').slice(0, 16)}`
    const url = origin.serve('/private', content, { authorization: secret })
    const output = join(dir.path, 'private.bin')
    const result = await dfget([url, '-O', output, '-e', nodes[0]!.socketPath, '--no-progress', '-H', `Authorization: ${secret}`], { timeoutMs: 60_000 })
    assert.equal(result.code, 0, result.stderr)
    assert.equal(await sha256File(output), content.sha256)
    assert.ok((await metricValue(nodes[0]!.metricsAddress(), REMOTE)) > 0, 'the seed fetched it with the credentials, and the node took it from the seed')
    const token = secret.slice('Bearer '.length)
    for (const file of await filesUnder(dir.path)) {
      if (file === output || (await stat(file)).size > 64 * MiB) continue
      const text = await readFile(file)
      assert.equal(text.includes(token), false, `${file} holds the credential`)
    }
    // The metrics ports tell counters only: no credential, URL or task id.
    const taskId = taskIdFor({ url })
    for (const address of [seed.metricsAddress(), ...nodes.map((node) => node.metricsAddress()), scheduler.metricsAddress]) {
      const metrics = await fetch(`http://${address}/metrics`).then((response) => response.text())
      for (const secretish of [token, '/private', taskId]) assert.equal(metrics.includes(secretish), false, `${address}/metrics shows ${secretish}`)
    }
  })
})
