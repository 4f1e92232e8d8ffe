import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { Agent, request } from 'node:http'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { MiB, tempDir } from './support/files.js'
import { makeRandomFile, OriginServer, type Content } from './support/origin-server.js'
import { startDaemon, waitFor, type DaemonProcess } from './support/processes.js'

const CONCURRENT_REQUESTS = 500
const MAX_RSS_BYTES = 300 * MiB

interface Answer {
  readonly status: number
  readonly headers: Record<string, string | string[] | undefined>
  readonly bytes: number
  readonly sha256: string
}

/** A GET through the mirror, hashing the body as it arrives rather than keeping it. */
function get(proxyAddress: string, path: string, agent: Agent): Promise<Answer> {
  return new Promise((resolve, reject) => {
    request(`http://${proxyAddress}${path}`, { agent, timeout: 60_000 }, (res) => {
      const hash = createHash('sha256')
      let bytes = 0
      res.on('data', (chunk: Buffer) => {
        hash.update(chunk)
        bytes += chunk.length
      })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, bytes, sha256: hash.digest('hex') }))
      res.on('error', reject)
    }).on('error', reject).end()
  })
}

/** The peak resident set of a process so far (VmHWM), in bytes. */
function peakRssBytes(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((text) => text.startsWith('VmHWM:'))
  return Number(/(\d+) kB/.exec(line ?? '')?.[1] ?? Number.NaN) * 1024
}

describe('the registry mirror under many concurrent requests', { timeout: 300_000 }, () => {
  let dir!: Awaited<ReturnType<typeof tempDir>>
  let origin!: OriginServer
  let blob!: Content
  const daemons: DaemonProcess[] = []
  const agent = new Agent({ keepAlive: true, maxSockets: Infinity })

  before(async () => {
    dir = await tempDir('mirror-load')
    origin = await OriginServer.start()
    blob = await makeRandomFile(join(dir.path, 'blob'), 5 * MiB)
  })

  after(async () => {
    agent.destroy()
    for (const daemon of daemons) await daemon.stop()
    await (origin as OriginServer | undefined)?.close()
    await (dir as typeof dir | undefined)?.remove()
  })

  async function mirror(name: string, env: Record<string, string> = {}): Promise<DaemonProcess> {
    const daemon = await startDaemon(join(dir.path, name), { args: ['--registry-mirror', origin.baseUrl, '--log-level', 'info'], env })
    daemons.push(daemon)
    return daemon
  }

  it(`serves ${CONCURRENT_REQUESTS} concurrent GETs of a cached blob within ${MAX_RSS_BYTES / MiB} MiB of memory`, { timeout: 180_000 }, async () => {
    const path = `/v2/team/app/blobs/sha256:${blob.sha256}`
    origin.serve(path, blob)
    const daemon = await mirror('many')
    const proxy = daemon.proxyAddress()
    const first = await get(proxy, path, agent)
    assert.equal(first.status, 200)
    const answers = await Promise.all(Array.from({ length: CONCURRENT_REQUESTS }, () => get(proxy, path, agent)))
    const intact = answers.filter((answer) => answer.status === 200 && answer.bytes === blob.length && answer.sha256 === blob.sha256)
    assert.equal(intact.length, CONCURRENT_REQUESTS, `statuses: ${[...new Set(answers.map((answer) => answer.status))].join(', ')}`)
    const peakBytes = peakRssBytes(daemon.child.pid ?? 0)
    assert.ok(peakBytes <= MAX_RSS_BYTES, `the daemon's peak RSS was ${(peakBytes / MiB).toFixed(0)} MiB`)
    // Served from the cache: the registry was asked for the blob's pieces once, and for access once.
    const stats = origin.statsOf(path)
    assert.equal(stats.bodyBytesSent, blob.length)
    assert.ok(stats.heads <= 2, `${stats.heads} HEADs reached the registry`)
  })

  it('answers 503 PROXY_BUSY with Retry-After beyond proxy.maxConcurrency, and serves again once requests finish', { timeout: 60_000 }, async () => {
    const path = `/v2/team/held/blobs/sha256:${blob.sha256}`
    let release!: () => void
    const holdGets = new Promise<void>((resolve) => { release = resolve })
    origin.serve(path, blob, { holdGets })
    const daemon = await mirror('capped', { DFDAEMON_PROXY_MAX_CONCURRENCY: '4' })
    const proxy = daemon.proxyAddress()
    const held = Array.from({ length: 4 }, () => get(proxy, path, agent))
    await waitFor(() => origin.statsOf(path).gets > 0, 'the download to ask the registry for the blob')
    const refused = await fetch(`http://${proxy}${path}`, { signal: AbortSignal.timeout(10_000) })
    assert.equal(refused.status, 503)
    assert.equal(refused.headers.get('retry-after'), '1')
    assert.equal(((await refused.json()) as { error: { code: string } }).error.code, 'PROXY_BUSY')
    release()
    for (const answer of await Promise.all(held)) {
      assert.equal(answer.status, 200)
      assert.equal(answer.sha256, blob.sha256)
    }
    const later = await get(proxy, path, agent)
    assert.equal(later.status, 200)
    assert.equal(later.sha256, blob.sha256)
  })
})
