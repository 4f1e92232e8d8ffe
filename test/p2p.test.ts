import assert from 'node:assert/strict'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { MiB, sha256File, tempDir } from './support/files.js'
import { makeRandomFile, OriginServer, type Content } from './support/origin-server.js'
import {
  ALLOW_LOOPBACK_ORIGINS, dfget, metricValue, startDaemon, startScheduler, type DaemonProcess, type SchedulerProcess,
} from './support/processes.js'

const REMOTE = 'damselfly_dfdaemon_download_traffic_bytes_total{type="remote_peer"}'
const SOURCE = 'damselfly_dfdaemon_download_traffic_bytes_total{type="back_to_source"}'
const UPLOADED = 'damselfly_dfdaemon_upload_traffic_bytes_total'

describe('P2P: a scheduler, a seed peer and eight daemons', { timeout: 600_000 }, () => {
  let dir!: Awaited<ReturnType<typeof tempDir>>
  let origin!: OriginServer
  let scheduler!: SchedulerProcess
  let seed!: DaemonProcess
  let content!: Content
  const daemons: DaemonProcess[] = []

  before(async () => {
    dir = await tempDir('p2p')
    origin = await OriginServer.start()
    content = await makeRandomFile(join(dir.path, 'content.bin'), 256 * MiB)
    scheduler = await startScheduler(join(dir.path, 'scheduler'))
    seed = await startDaemon(join(dir.path, 'seed'), { cluster: scheduler, args: ['--seed', '--scheduler', scheduler.address], env: ALLOW_LOOPBACK_ORIGINS })
    for (let i = 0; i < 8; i++) daemons.push(await startDaemon(join(dir.path, `peer-${i}`), { cluster: scheduler, args: ['--scheduler', scheduler.address] }))
  })

  after(async () => {
    await Promise.all(daemons.map((daemon) => daemon.stop()))
    await (seed as DaemonProcess | undefined)?.stop()
    await (scheduler as SchedulerProcess | undefined)?.stop()
    await (origin as OriginServer | undefined)?.close()
    await (dir as typeof dir | undefined)?.remove()
  })

  it('answers tiny and empty tasks from the scheduler, without any parent', { timeout: 120_000 }, async () => {
    for (const [name, size] of [['tiny', 100], ['empty', 0]] as const) {
      const small = await makeRandomFile(join(dir.path, `${name}.bin`), size)
      const url = origin.serve(`/p2p/${name}`, small)
      const sourceBefore = await metricValue(daemons[1]!.metricsAddress(), SOURCE)
      const remoteBefore = await metricValue(daemons[1]!.metricsAddress(), REMOTE)
      for (const index of [0, 1]) {
        const output = join(dir.path, `${name}-${index}.out`)
        const result = await dfget([url, '-O', output, '-e', daemons[index]!.socketPath, '--no-progress'])
        assert.equal(result.code, 0, result.stderr)
        assert.equal(await sha256File(output), small.sha256)
      }
      assert.equal((await origin.settledStatsOf(`/p2p/${name}`)).bodyBytesSent, size, `the ${name} content left the origin once`)
      assert.equal(await metricValue(daemons[1]!.metricsAddress(), SOURCE), sourceBefore, `the second daemon fetched nothing of the ${name} task from the source`)
      assert.equal(await metricValue(daemons[1]!.metricsAddress(), REMOTE), remoteBefore, `nor from a parent: the scheduler answered inline`)
    }
  })

  it('sends each byte from the origin about once, and the daemons feed each other', { timeout: 300_000 }, async (t) => {
    const url = origin.serve('/p2p/content', content)
    const outputs = daemons.map((_, i) => join(dir.path, `out-${i}.bin`))
    const results = await Promise.all(daemons.map((daemon, i) => dfget([url, '-O', outputs[i]!, '-e', daemon.socketPath, '--no-progress'], { timeoutMs: 280_000 })))
    for (const result of results) assert.equal(result.code, 0, result.stderr)
    for (const output of outputs) assert.equal(await sha256File(output), content.sha256)

    const originBytes = (await origin.settledStatsOf('/p2p/content')).bodyBytesSent
    assert.ok(originBytes <= content.length * 1.05, `the origin sent ${originBytes} bytes for a ${content.length}-byte file`)
    let received = 0
    let fromPeers = 0
    let fromEachOther = 0
    for (const daemon of daemons) {
      const address = daemon.metricsAddress()
      received += (await metricValue(address, REMOTE)) + (await metricValue(address, SOURCE))
      fromPeers += await metricValue(address, REMOTE)
      fromEachOther += await metricValue(address, UPLOADED)
    }
    assert.ok(received >= 8 * content.length, `the daemons received ${received} bytes`)
    assert.ok(fromPeers > 0, 'pieces came from peers')
    const share = fromEachOther / received
    t.diagnostic(`origin sent ${(originBytes / content.length).toFixed(3)}x the file; ${(share * 100).toFixed(1)}% of ${received} received bytes came from each other, ${((fromPeers - fromEachOther) / received * 100).toFixed(1)}% from the seed`)
    assert.ok(share >= 0.4, `${(share * 100).toFixed(1)}% of what the daemons received came from each other (want at least 40%)`)
  })
})
