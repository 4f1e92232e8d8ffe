import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { MiB, sha256File, tempDir } from './support/files.js'
import { makeRandomFile, OriginServer } from './support/origin-server.js'
import {
  dfget, metricValue, startDaemon, startScheduler, waitFor, type DaemonProcess, type SchedulerProcess,
} from './support/processes.js'

const REMOTE = 'damselfly_dfdaemon_download_traffic_bytes_total{type="remote_peer"}'
const SOURCE = 'damselfly_dfdaemon_download_traffic_bytes_total{type="back_to_source"}'
const SOURCE_REQUESTS = ['stat', 'range', 'whole'].map((kind) => `damselfly_dfdaemon_source_request_total{kind="${kind}"}`)

interface LogLine {
  readonly msg: string
  readonly code?: string
  readonly reason?: string
}

function logLines(path: string): LogLine[] {
  return readFileSync(path, 'utf8').split('\n').filter((line) => line !== '').map((line) => JSON.parse(line) as LogLine)
}

describe('a seed peer with the default source policy', { timeout: 60_000 }, () => {
  let dir!: Awaited<ReturnType<typeof tempDir>>
  let origin!: OriginServer
  let scheduler!: SchedulerProcess
  let seed!: DaemonProcess
  let node!: DaemonProcess

  before(async () => {
    dir = await tempDir('seed-source-policy')
    origin = await OriginServer.start()
    scheduler = await startScheduler(join(dir.path, 'scheduler'))
    seed = await startDaemon(join(dir.path, 'seed'), { cluster: scheduler, args: ['--seed', '--scheduler', scheduler.address] })
    node = await startDaemon(join(dir.path, 'node'), { cluster: scheduler, args: ['--scheduler', scheduler.address] })
    await waitFor(() => readFileSync(join(dir.path, 'scheduler', 'scheduler.log'), 'utf8').split('"host announced"').length > 2, 'both hosts to announce themselves')
  })

  after(async () => {
    await (node as DaemonProcess | undefined)?.stop()
    await (seed as DaemonProcess | undefined)?.stop()
    await (scheduler as SchedulerProcess | undefined)?.stop()
    await (origin as OriginServer | undefined)?.close()
    await (dir as typeof dir | undefined)?.remove()
  })

  it('refuses to fetch an origin on 127.0.0.1 for another host; that host fetches it itself', { timeout: 30_000 }, async () => {
    const content = await makeRandomFile(join(dir.path, 'content.bin'), 4 * MiB)
    const url = `${origin.serve('/policy/content', content)}?X-Amz-Signature=do-not-log`
    const output = join(dir.path, 'out.bin')

    const result = await dfget([url, '-O', output, '-e', node.socketPath, '--no-progress'], { timeoutMs: 25_000 })
    assert.equal(result.code, 0, result.stderr)
    assert.equal(await sha256File(output), content.sha256)

    await waitFor(() => logLines(seed.logPath).some((line) => line.msg === 'seed source refused'), 'the seed to log the refusal', 10_000)
    const refusals = logLines(seed.logPath).filter((line) => line.code === 'SOURCE_NOT_ALLOWED')
    assert.equal(refusals.length, 1, 'the seed logs the refusal once')
    assert.equal(
      refusals[0]?.reason,
      `source address policy refused ${origin.url('/policy/content')}: 127.0.0.1 is a loopback address (deny 127.0.0.0/8); to fetch it anyway, add it to seedPeer.sourcePolicy.allow`,
    )
    assert.doesNotMatch(readFileSync(seed.logPath, 'utf8'), /do-not-log/, 'no query secret in the seed log')

    // Every request the origin answered is one the node made: the seed never reached it.
    const stats = await origin.settledStatsOf('/policy/content')
    const nodeRequests = (await Promise.all(SOURCE_REQUESTS.map((sample) => metricValue(node.metricsAddress(), sample)))).reduce((sum, count) => sum + count, 0)
    assert.ok(nodeRequests > 0)
    assert.equal(stats.heads + stats.gets, nodeRequests, 'the origin saw only the node\'s requests')
    assert.equal(stats.bodyBytesSent, content.length, 'the bytes left the origin once, to the node')
    assert.equal(await metricValue(seed.metricsAddress(), SOURCE), 0, 'the seed fetched nothing')
    assert.equal(await metricValue(node.metricsAddress(), SOURCE), content.length, 'the node went back to source for all of it')
    assert.equal(await metricValue(node.metricsAddress(), REMOTE), 0)
  })
})
