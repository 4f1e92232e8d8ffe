import assert from 'node:assert/strict'
import { open, truncate } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { rendezvousPick } from '../src/common/rendezvous.js'
import { taskIdFor } from '../src/protocol/task-id.js'
import { BlackholeServer } from './support/blackhole-server.js'
import { MiB, sha256File, tempDir } from './support/files.js'
import { makeRandomFile, OriginServer, type Content } from './support/origin-server.js'
import {
  ALLOW_LOOPBACK_ORIGINS, dfget, metricValue, startDaemon, startScheduler, waitFor, type DaemonProcess, type SchedulerProcess,
} from './support/processes.js'

const REMOTE = 'damselfly_dfdaemon_download_traffic_bytes_total{type="remote_peer"}'
const SOURCE = 'damselfly_dfdaemon_download_traffic_bytes_total{type="back_to_source"}'

describe('P2P when things go wrong', { timeout: 600_000 }, () => {
  let dir!: Awaited<ReturnType<typeof tempDir>>
  let origin!: OriginServer
  let content!: Content
  const stops: Array<() => Promise<void>> = []

  before(async () => {
    dir = await tempDir('p2p-failures')
    origin = await OriginServer.start()
    content = await makeRandomFile(join(dir.path, 'content.bin'), 64 * MiB)
  })

  after(async () => {
    for (const stop of stops.reverse()) await stop().catch(() => undefined)
    await (origin as OriginServer | undefined)?.close()
    await (dir as typeof dir | undefined)?.remove()
  })

  /** Every scheduler of the suite holds one cluster CA, so a daemon may use any of them. */
  const cluster = (): { pkiDir: string } => ({ pkiDir: join(dir.path, 'pki') })

  async function scheduler(name: string): Promise<SchedulerProcess> {
    const started = await startScheduler(join(dir.path, name), {}, cluster())
    stops.push(() => started.stop())
    return started
  }

  async function daemon(name: string, schedulers: string, env: Record<string, string> = {}): Promise<DaemonProcess> {
    const started = await startDaemon(join(dir.path, name), { cluster: cluster(), args: ['--scheduler', schedulers], env })
    stops.push(() => started.stop())
    return started
  }

  async function download(node: DaemonProcess, url: string, name: string, extra: string[] = []): Promise<{ code: number | null; stderr: string; output: string }> {
    const output = join(dir.path, name)
    const result = await dfget([url, '-O', output, '-e', node.socketPath, '--no-progress', ...extra], { timeoutMs: 200_000 })
    return { ...result, output }
  }

  it('never accepts a bad piece from a parent whose stored bytes were altered, and blocklists it', { timeout: 200_000 }, async () => {
    const s = await scheduler('s-corrupt')
    const parent = await daemon('corrupt-parent', s.address)
    const child = await daemon('corrupt-child', s.address)
    const url = origin.serve('/corrupt', content)
    assert.equal((await download(parent, url, 'corrupt-parent.bin')).code, 0)
    const taskId = taskIdFor({ url })
    const file = await open(join(parent.dataDir, 'content', 'tasks', taskId.slice(0, 3), taskId), 'r+')
    await file.write(Buffer.alloc(4096, 0xee), 0, 4096, 5 * MiB)
    await file.close()

    const result = await download(child, url, 'corrupt-child.bin')
    assert.equal(result.code, 0, result.stderr)
    assert.equal(await sha256File(result.output), content.sha256)
    const { readFileSync } = await import('node:fs')
    assert.match(readFileSync(child.logPath, 'utf8'), /parent sent a piece that fails its digest/)
    assert.ok((await metricValue(child.metricsAddress(), REMOTE)) > 0, 'the good pieces came from the parent')
    assert.ok((await metricValue(s.metricsAddress, 'damselfly_scheduler_blocklisted_parents_total{reason="bad_content"}')) >= 1, 'the scheduler blocklisted the parent for the child')
  })

  it('finishes a child whose parent lists every piece and can send none of them, without asking it for each', { timeout: 200_000 }, async () => {
    const s = await scheduler('s-lying-list')
    const parent = await daemon('lying-parent', s.address)
    const child = await daemon('lied-to-child', s.address)
    const url = origin.serve('/lying-list', content)
    assert.equal((await download(parent, url, 'lying-parent.bin')).code, 0)
    // The parent's journal still holds every piece, so its list names all 64; its content file holds none of them.
    const taskId = taskIdFor({ url })
    await truncate(join(parent.dataDir, 'content', 'tasks', taskId.slice(0, 3), taskId), 0)
    const asked = (): Promise<number> => metricValue(parent.metricsAddress(), 'damselfly_dfdaemon_upload_request_total{status="206"}', { absent: 0 })
    const askedBefore = await asked()

    const result = await download(child, url, 'lied-to-child.bin')
    assert.equal(result.code, 0, result.stderr)
    assert.equal(await sha256File(result.output), content.sha256)
    assert.ok((await metricValue(parent.metricsAddress(), 'damselfly_dfdaemon_piece_watch_total')) >= 1, 'the child watched the parent, which listed every piece')
    const askedOfParent = (await asked()) - askedBefore
    assert.ok(askedOfParent >= 1, 'the child asked the parent for a listed piece')
    assert.ok(askedOfParent <= 16, `the child gave the parent up after its failures, not after ${askedOfParent} of 64 pieces`)
    assert.equal(await metricValue(child.metricsAddress(), REMOTE, { absent: 0 }), 0, 'not a byte from the parent was taken')
  })

  it('finishes the children of a parent killed in the middle of a transfer', { timeout: 200_000 }, async () => {
    const s = await scheduler('s-kill-parent')
    const parent = await daemon('killed-parent', s.address)
    const child = await daemon('surviving-child', s.address, { DFDAEMON_DOWNLOAD_RATE_LIMIT: String(16 * MiB) })
    const url = origin.serve('/kill-parent', content)
    assert.equal((await download(parent, url, 'kill-parent-1.bin')).code, 0)
    const pending = download(child, url, 'kill-parent-2.bin')
    await waitFor(async () => (await metricValue(child.metricsAddress(), REMOTE)) > 8 * MiB, 'the child to receive from its parent')
    await parent.kill()
    const result = await pending
    assert.equal(result.code, 0, result.stderr)
    assert.equal(await sha256File(result.output), content.sha256)
  })

  /** A fresh URL serving `served` whose task `owner` owns among `schedulers` (rendezvous hashing, as daemons route). */
  function urlOwnedBy(owner: SchedulerProcess, schedulers: readonly SchedulerProcess[], path: string, served: Content = content): string {
    for (let i = 0; ; i++) {
      const url = origin.serve(`${path}-${i}`, served)
      if (rendezvousPick(taskIdFor({ url }), schedulers, (candidate) => candidate.address) === owner) return url
    }
  }

  it('finishes a child fetching from its parent when the scheduler that owns the task dies, and routes new tasks it owned to the scheduler left', { timeout: 200_000 }, async () => {
    const owner = await scheduler('s-owner')
    const left = await scheduler('s-left')
    const both = [owner, left]
    const addresses = both.map((s) => s.address).join(',')
    const parent = await daemon('owner-dies-parent', addresses)
    const child = await daemon('owner-dies-child', addresses, { DFDAEMON_DOWNLOAD_RATE_LIMIT: String(16 * MiB) })
    const url = urlOwnedBy(owner, both, '/owner-dies')
    assert.equal((await download(parent, url, 'owner-dies-parent.bin')).code, 0)
    const pending = download(child, url, 'owner-dies-child.bin')
    await waitFor(async () => (await metricValue(child.metricsAddress(), REMOTE)) > 8 * MiB, 'the child to receive from its parent')
    await owner.kill()
    const result = await pending
    assert.equal(result.code, 0, result.stderr)
    assert.equal(await sha256File(result.output), content.sha256)
    const fromParent = await metricValue(child.metricsAddress(), REMOTE)
    const fromSource = await metricValue(child.metricsAddress(), SOURCE)
    assert.ok(fromParent < content.length, 'the parent did not send it all: the scheduler died first')
    assert.ok(fromSource > 0 && fromSource <= content.length - 8 * MiB, `the child fetched only what it missed from the source (${fromSource} bytes)`)
    assert.ok(fromParent + fromSource >= content.length)

    // A new task the dead scheduler owned goes to the one left, and P2P works through it.
    const fresh = urlOwnedBy(owner, both, '/owner-died')
    const leftBefore = await metricValue(left.metricsAddress, 'damselfly_scheduler_schedule_total{outcome="parents"}')
    assert.equal((await download(parent, fresh, 'owner-died-1.bin')).code, 0)
    const remoteBefore = await metricValue(child.metricsAddress(), REMOTE)
    const again = await download(child, fresh, 'owner-died-2.bin')
    assert.equal(again.code, 0, again.stderr)
    assert.equal(await sha256File(again.output), content.sha256)
    assert.ok((await metricValue(child.metricsAddress(), REMOTE)) - remoteBefore >= content.length * 0.9, 'the new download went P2P')
    assert.ok((await metricValue(left.metricsAddress, 'damselfly_scheduler_schedule_total{outcome="parents"}')) > leftBefore, 'through the scheduler left')
  })

  it('downloads from the source at once when every scheduler is down from the start', { timeout: 120_000 }, async () => {
    // The cluster's CA comes with its first scheduler, and the daemon's identity from the CA.
    await (await scheduler('s-gone')).kill()
    // The schedulers' addresses: ports held by servers that reset every connection. A killed
    // scheduler's port could be taken by another test's server meanwhile, which the daemon would
    // wait on instead of failing at once.
    const gone = [await BlackholeServer.start('refusing'), await BlackholeServer.start('refusing')]
    for (const s of gone) stops.push(() => s.close())
    const node = await daemon('no-scheduler-up', gone.map((s) => s.address).join(','))
    const small = await makeRandomFile(join(dir.path, 'no-scheduler-up.bin'), MiB)
    for (let i = 0; i < 3; i++) {
      const startedMs = Date.now()
      const result = await download(node, origin.serve(`/no-scheduler-up-${i}`, small), `no-scheduler-up-${i}.bin`)
      const tookMs = Date.now() - startedMs
      assert.equal(result.code, 0, result.stderr)
      assert.equal(await sha256File(result.output), small.sha256)
      assert.ok(tookMs < 4_000, `download ${i} took ${tookMs} ms`)
    }
    assert.equal(await metricValue(node.metricsAddress(), SOURCE), 3 * MiB)
  })

  it('has a seed register a seed task with the scheduler that asked, even one it would not route the task to', { timeout: 120_000 }, async () => {
    const owner = await scheduler('s-seed-owner')
    const other = await scheduler('s-seed-other')
    const seed = await startDaemon(join(dir.path, 'asked-seed'), {
      cluster: cluster(),
      args: ['--scheduler', `${owner.address},${other.address}`, '--seed'],
      env: ALLOW_LOOPBACK_ORIGINS,
    })
    stops.push(() => seed.stop())
    await waitFor(async () => (await metricValue(other.metricsAddress, 'damselfly_scheduler_hosts')) === 1, 'the seed to announce itself to the other scheduler')
    // This daemon knows only the other scheduler, as one that found the owner down would route.
    const node = await daemon('knows-the-other', other.address)
    const url = urlOwnedBy(owner, [owner, other], '/seed-asked-by-other')
    const startedMs = Date.now()
    const result = await download(node, url, 'seed-asked-by-other.bin')
    const tookMs = Date.now() - startedMs
    assert.equal(result.code, 0, result.stderr)
    assert.equal(await sha256File(result.output), content.sha256)
    assert.ok((await metricValue(node.metricsAddress(), REMOTE)) >= content.length * 0.9, 'the daemon got the content from the seed the other scheduler asked')
    assert.ok(tookMs < 20_000, `it did not wait out the seed wait (${tookMs} ms)`)
  })

  it('passes over a scheduler that accepts connections and never answers after one short timeout, then avoids it', { timeout: 200_000 }, async () => {
    const s = await scheduler('s-beside-blackholes')
    const silent = await BlackholeServer.start('silent')
    const stalled = await BlackholeServer.start('stalled')
    stops.push(() => silent.close(), () => stalled.close())
    const addresses = [silent.address, stalled.address, s.address]
    const registerTimeoutMs = 4_000
    const node = await daemon('beside-blackholes', addresses.join(','), { DFDAEMON_SCHEDULER_REGISTER_TIMEOUT: `${registerTimeoutMs}ms` })
    const small = await makeRandomFile(join(dir.path, 'small.bin'), MiB)
    let serial = 0
    /** A fresh URL whose task's schedulers, by rendezvous hashing, come in this order first. */
    const urlRanking = (...first: string[]): string => {
      for (;;) {
        const url = origin.serve(`/beside-blackholes/${serial++}`, small)
        const left = [...addresses]
        const ranking = first.map(() => {
          const pick = rendezvousPick(taskIdFor({ url }), left, (address) => address)!
          left.splice(left.indexOf(pick), 1)
          return pick
        })
        if (ranking.every((address, i) => address === first[i])) return url
      }
    }
    const timed = async (url: string): Promise<number> => {
      const startedMs = Date.now()
      const result = await download(node, url, `beside-blackholes-${serial}.bin`)
      assert.equal(result.code, 0, result.stderr)
      assert.equal(await sha256File(result.output), small.sha256)
      return Date.now() - startedMs
    }

    for (const hole of [silent, stalled]) {
      const tookMs = await timed(urlRanking(hole.address, s.address))
      assert.ok(hole.accepted > 0, 'the daemon connected to it')
      assert.ok(tookMs >= registerTimeoutMs && tookMs < 2 * registerTimeoutMs, `one register timeout, then the scheduler left: ${tookMs} ms`)
    }
    // Past the 10 s a scheduler that failed is passed over for, neither is tried again: its connection never comes up.
    const untilMs = Date.now() + 12_000
    let count = 0
    while (Date.now() < untilMs || count < 4) {
      const tookMs = await timed(urlRanking(count % 2 === 0 ? silent.address : stalled.address))
      assert.ok(tookMs < registerTimeoutMs, `download ${count} of a task a blackhole owns took ${tookMs} ms`)
      count++
    }
    assert.equal(await metricValue(s.metricsAddress, 'damselfly_scheduler_back_to_source_total'), 2 + count, 'the scheduler left took every task')
  })

  it('gives priority 2 a clear error when no parent exists, and respects --disable-back-to-source', { timeout: 120_000 }, async () => {
    const s = await scheduler('s-priority')
    const node = await daemon('priority', s.address)
    const url = origin.serve('/priority-2', content)
    const refused = await download(node, url, 'priority-2.bin', ['-p', '2'])
    assert.equal(refused.code, 1)
    assert.match(refused.stderr, /^dfget: the scheduler found no parent/)
    const disabled = await download(node, origin.serve('/no-source', content), 'no-source.bin', ['--disable-back-to-source'])
    assert.equal(disabled.code, 1)
    assert.match(disabled.stderr, /^dfget: .*(no parent|back-to-source is disabled)/)
    assert.equal(origin.statsOf('/priority-2').gets + origin.statsOf('/no-source').gets, 0, 'the origin was never asked')
  })
})
