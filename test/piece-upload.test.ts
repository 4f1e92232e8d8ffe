import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { Agent } from 'undici'
import type { TaskId } from '../src/protocol/ids.js'
import { PieceListReader } from '../src/protocol/piece-list.js'
import { taskIdFor } from '../src/protocol/task-id.js'
import { testCa, testIdentity } from '../src/security/security-fixtures.js'
import { MiB, sha256File, tempDir } from './support/files.js'
import { makeRandomFile, OriginServer, type Content } from './support/origin-server.js'
import { dfget, metricValue, startDaemon, startScheduler, waitFor, type DaemonProcess, type SchedulerProcess } from './support/processes.js'
import { TestPeer, type PieceAnswer } from './support/test-peer.js'

const REMOTE = 'damselfly_dfdaemon_download_traffic_bytes_total{type="remote_peer"}'

describe('the upload port: pieces only for hosts of the cluster with a capability for the task', { timeout: 300_000 }, () => {
  let dir!: Awaited<ReturnType<typeof tempDir>>
  let origin!: OriginServer
  let content!: Content
  let scheduler!: SchedulerProcess
  let tlsParent!: DaemonProcess
  let plainParent!: DaemonProcess
  let peer!: TestPeer
  let taskId!: TaskId
  const stops: Array<() => Promise<void>> = []

  before(async () => {
    dir = await tempDir('piece-upload')
    origin = await OriginServer.start()
    content = await makeRandomFile(join(dir.path, 'content.bin'), 6 * MiB)
    scheduler = await startScheduler(join(dir.path, 'scheduler'))
    stops.push(() => scheduler.stop())
    tlsParent = await startDaemon(join(dir.path, 'tls-parent'), { cluster: scheduler, args: ['--scheduler', scheduler.address] })
    stops.push(() => tlsParent.stop())
    plainParent = await startDaemon(join(dir.path, 'plain-parent'), { cluster: scheduler, args: ['--scheduler', scheduler.address], env: { DFDAEMON_UPLOAD_SERVER_TLS: 'false' } })
    stops.push(() => plainParent.stop())
    const url = origin.serve('/held', content)
    taskId = taskIdFor({ url })
    for (const [node, name] of [[tlsParent, 'tls'], [plainParent, 'plain']] as const) {
      const result = await dfget([url, '-O', join(dir.path, `${name}.bin`), '-e', node.socketPath, '--no-progress'], { timeoutMs: 60_000 })
      assert.equal(result.code, 0, result.stderr)
    }
    assert.ok((await metricValue(plainParent.metricsAddress(), REMOTE)) > 0, 'the second daemon fetched from the first over TLS, with its capability')
    peer = await TestPeer.create(scheduler.pkiDir)
  })

  after(async () => {
    await (peer as TestPeer | undefined)?.close()
    for (const stop of stops.reverse()) await stop().catch(() => undefined)
    await (origin as OriginServer | undefined)?.close()
    await (dir as typeof dir | undefined)?.remove()
  })

  it('serves a host with a valid capability by range, with 416 and 404 for what it cannot', { timeout: 30_000 }, async () => {
    const address = tlsParent.uploadAddress()
    const capability = peer.capability(taskId)
    const ranged = await peer.get(address, taskId, { range: 'bytes=4194300-4194309', capability })
    assert.equal(ranged.status, 206)
    assert.equal(ranged.headers['content-range'], `bytes 4194300-4194309/${content.length}`)
    assert.deepEqual(ranged.body, (await readFile(content.file)).subarray(4194300, 4194310))
    assert.equal((await peer.get(address, taskId, { range: `bytes=${content.length}-`, capability })).status, 416)
    const unknown = 'f'.repeat(64) as TaskId
    assert.equal((await peer.get(address, unknown, { range: 'bytes=0-9', capability: peer.capability(unknown) })).code, 'TASK_NOT_FOUND')
  })

  it('refuses anyone without a certificate from the cluster CA before a byte of HTTP', { timeout: 30_000 }, async () => {
    const address = tlsParent.uploadAddress()
    await assert.rejects(peer.get(address, taskId, { range: 'bytes=0-9', capability: peer.capability(taskId), transport: 'tls-without-certificate' }))
    await assert.rejects(peer.get(address, taskId, { range: 'bytes=0-9', transport: 'plain' }), 'plain HTTP to the TLS port')
    const stranger = await testIdentity(await testCa('Stranger CA'), 'normal')
    const agent = new Agent({ connect: { key: stranger.keyPem, cert: stranger.certPem, rejectUnauthorized: false } })
    await assert.rejects(agent.request({ origin: `https://${address}`, path: `/download/${taskId.slice(0, 3)}/${taskId}`, method: 'GET' }), 'a certificate from another CA')
    await agent.close()
  })

  it('refuses a host of the cluster without a capability of its own for this task', { timeout: 30_000 }, async () => {
    const address = tlsParent.uploadAddress()
    const other = 'e'.repeat(64) as TaskId
    const someoneElse = await TestPeer.create(scheduler.pkiDir)
    const cases: Array<[string, string | undefined, number, string]> = [
      ['no capability', undefined, 401, 'UNAUTHENTICATED'],
      ['a capability for another task', peer.capability(other), 403, 'PERMISSION_DENIED'],
      ['another host\'s capability', peer.capability(taskId, { for: someoneElse.identity }), 403, 'PERMISSION_DENIED'],
      ['a capability signed by a seed', peer.capability(taskId, { signer: 'seed' }), 401, 'UNAUTHENTICATED'],
      ['a forged capability', `${peer.capability(taskId).slice(0, -40)}${'A'.repeat(40)}`, 401, 'UNAUTHENTICATED'],
    ]
    for (const [name, capability, status, code] of cases) {
      const answer = await peer.get(address, taskId, { range: 'bytes=0-9', ...(capability === undefined ? {} : { capability }) })
      assert.equal(answer.status, status, name)
      assert.equal(answer.code, code, name)
      assert.equal(answer.headers['content-range'], undefined, name)
    }
    await someoneElse.close()
  })

  it('lists the pieces it holds only to a host with a capability for the task, signed where it serves without TLS', { timeout: 30_000 }, async () => {
    const capability = peer.capability(taskId)
    const listed = await peer.get(tlsParent.uploadAddress(), taskId, { capability, watch: true })
    assert.equal(listed.status, 200)
    assert.deepEqual(new PieceListReader(content.length / MiB).read(listed.body).sort(), [0, 1, 2, 3, 4, 5])
    const refusals: Array<[string, Promise<PieceAnswer>, string]> = [
      ['no capability', peer.get(tlsParent.uploadAddress(), taskId, { watch: true }), 'UNAUTHENTICATED'],
      ['a capability for another task', peer.get(tlsParent.uploadAddress(), taskId, { capability: peer.capability('e'.repeat(64) as TaskId), watch: true }), 'PERMISSION_DENIED'],
      ['unsigned, without TLS', peer.get(plainParent.uploadAddress(), taskId, { capability, transport: 'plain', watch: true }), 'UNAUTHENTICATED'],
      ['no capability, for a task it does not hold either', peer.get(tlsParent.uploadAddress(), 'e'.repeat(64) as TaskId, { watch: true }), 'UNAUTHENTICATED'],
    ]
    for (const [name, answer, code] of refusals) {
      const refused = await answer
      assert.equal(refused.code, code, name)
      assert.equal(refused.headers['content-type'], 'application/json', name)
    }
    const signed = await peer.get(plainParent.uploadAddress(), taskId, { capability, transport: 'plain', sign: true, watch: true })
    assert.equal(signed.status, 200)
  })

  it('without TLS, serves only requests signed by the capability\'s holder', { timeout: 30_000 }, async () => {
    const address = plainParent.uploadAddress()
    const capability = peer.capability(taskId)
    const signed = await peer.get(address, taskId, { range: 'bytes=0-9', capability, transport: 'plain', sign: true })
    assert.equal(signed.status, 206)
    assert.deepEqual(signed.body, (await readFile(content.file)).subarray(0, 10))
    const unsigned = await peer.get(address, taskId, { range: 'bytes=0-9', capability, transport: 'plain' })
    assert.equal(unsigned.code, 'UNAUTHENTICATED')
    const otherRange = await peer.get(address, taskId, { range: 'bytes=0-1048575', capability, transport: 'plain', sign: true, signedRange: 'bytes=0-9' })
    assert.equal(otherRange.code, 'UNAUTHENTICATED', 'a signature covers its range')
    const stolen = await TestPeer.create(scheduler.pkiDir)
    const replayed = await stolen.get(address, taskId, { range: 'bytes=0-9', capability, transport: 'plain', sign: true })
    assert.equal(replayed.code, 'UNAUTHENTICATED', 'a capability is no use to a host without its key')
    await stolen.close()
  })

  it('a child downloads from a parent that serves without TLS, with signed requests', { timeout: 60_000 }, async () => {
    const url = origin.serve('/only-plain', content)
    assert.equal((await dfget([url, '-O', join(dir.path, 'only-plain.bin'), '-e', plainParent.socketPath, '--no-progress'], { timeoutMs: 60_000 })).code, 0)
    const child = await startDaemon(join(dir.path, 'child'), { cluster: scheduler, args: ['--scheduler', scheduler.address] })
    stops.push(() => child.stop())
    const output = join(dir.path, 'child.bin')
    const result = await dfget([url, '-O', output, '-e', child.socketPath, '--no-progress'], { timeoutMs: 60_000 })
    assert.equal(result.code, 0, result.stderr)
    assert.equal(await sha256File(output), content.sha256)
    assert.ok((await metricValue(child.metricsAddress(), REMOTE)) >= content.length, 'every piece came from peers')
    assert.ok((await metricValue(plainParent.metricsAddress(), 'damselfly_dfdaemon_piece_watch_total')) > 0, 'the child watched its parent\'s pieces with signed requests')
  })

  it('answers 503 TOO_MANY_UPLOADS past the concurrent upload limit', { timeout: 60_000 }, async () => {
    const busy = await startDaemon(join(dir.path, 'busy'), {
      cluster: scheduler,
      args: ['--scheduler', scheduler.address],
      env: { DFDAEMON_UPLOAD_CONCURRENT_LIMIT: '1', DFDAEMON_UPLOAD_RATE_LIMIT: '1MiB' },
    })
    stops.push(() => busy.stop())
    const url = origin.serve('/busy', content)
    assert.equal((await dfget([url, '-O', join(dir.path, 'busy.bin'), '-e', busy.socketPath, '--no-progress'], { timeoutMs: 60_000 })).code, 0)
    const busyTask = taskIdFor({ url })
    const capability = peer.capability(busyTask)
    const served = (): Promise<number> => metricValue(busy.metricsAddress(), 'damselfly_dfdaemon_upload_request_total{status="200"}', { absent: 0 })
    const before = await served()
    // At 1 MiB/s the whole 6 MiB takes seconds: the one upload slot stays taken meanwhile.
    const slow = peer.get(busy.uploadAddress(), busyTask, { capability })
    await waitFor(async () => (await served()) > before, 'the slow upload to begin')
    const second = await peer.get(busy.uploadAddress(), busyTask, { range: 'bytes=0-9', capability })
    assert.equal(second.status, 503)
    assert.equal(second.code, 'TOO_MANY_UPLOADS')
    assert.equal((await slow).status, 200)
  })
})
