import assert from 'node:assert/strict'
import { readdir, stat } from 'node:fs/promises'
import { request } from 'node:http'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { taskIdFor } from '../src/protocol/task-id.js'
import { pieceLengthFor } from '../src/protocol/piece.js'
import { disjoint, MiB, sha256File, tempDir } from './support/files.js'
import { makeRandomFile, OriginServer, type Content } from './support/origin-server.js'
import { dfget, socketGet, startDaemon, type DaemonProcess } from './support/processes.js'

function httpGet(url: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, unknown>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    request(url, { headers }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (chunk: Buffer) => chunks.push(chunk))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }))
    }).on('error', reject).end()
  })
}

/** POSTs a download to the local API in stream delivery and returns the bytes and the trailer. */
function streamDownload(socketPath: string, url: string): Promise<{ status: number; body: Buffer; result: string | undefined }> {
  return new Promise((resolve, reject) => {
    const payload = JSON.stringify({ url })
    const req = request({ socketPath, path: '/v1/tasks/download', method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (chunk: Buffer) => chunks.push(chunk))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), result: res.trailers['x-damselfly-result'] }))
    })
    req.on('error', reject)
    req.end(payload)
  })
}

describe('dfget through one daemon', { timeout: 300_000 }, () => {
  let dir!: Awaited<ReturnType<typeof tempDir>>
  let origin!: OriginServer
  let daemon!: DaemonProcess
  const files: Record<string, Content> = {}
  const sizes = { empty: 0, tiny: 100, small: 5 * MiB, large: 300 * MiB }

  before(async () => {
    dir = await tempDir('download')
    origin = await OriginServer.start()
    for (const [name, size] of Object.entries(sizes)) {
      files[name] = await makeRandomFile(join(dir.path, `${name}.bin`), size)
    }
    daemon = await startDaemon(join(dir.path, 'daemon'))
  })

  after(async () => {
    await (daemon as DaemonProcess | undefined)?.stop()
    await (origin as OriginServer | undefined)?.close()
    await (dir as typeof dir | undefined)?.remove()
  })

  for (const name of Object.keys(sizes)) {
    it(`downloads ${name} content intact, then serves it again from the cache without the origin`, { timeout: 120_000 }, async () => {
      const content = files[name]!
      const url = origin.serve(`/sizes/${name}`, content)
      const first = join(dir.path, `${name}.first`)
      const result = await dfget([url, '-O', first, '-e', daemon.socketPath, '--no-progress'])
      assert.equal(result.code, 0, result.stderr)
      assert.equal(await sha256File(first), content.sha256)
      const before = { ...origin.statsOf(`/sizes/${name}`) }
      assert.ok(before.gets + before.heads > 0, 'the first download went to the origin')

      const second = join(dir.path, `${name}.second`)
      const again = await dfget([url, '-O', second, '-e', daemon.socketPath, '--no-progress'])
      assert.equal(again.code, 0, again.stderr)
      assert.equal(await sha256File(second), content.sha256)
      const after = origin.statsOf(`/sizes/${name}`)
      assert.equal(after.gets, before.gets, 'no GET reached the origin for the cached task')
      assert.equal(after.heads, before.heads, 'no HEAD reached the origin for the cached task')
    })
  }

  it('gives 8 concurrent dfget of one 300 MiB URL one download: the origin sends each byte once', { timeout: 180_000 }, async () => {
    const path = '/shared/large'
    const url = origin.serve(path, files['large']!)
    const outputs = Array.from({ length: 8 }, (_, i) => join(dir.path, `shared-${i}.bin`))
    const results = await Promise.all(outputs.map((output) => dfget([url, '-O', output, '-e', daemon.socketPath, '--no-progress'])))
    for (const result of results) assert.equal(result.code, 0, result.stderr)
    for (const output of outputs) assert.equal(await sha256File(output), files['large']!.sha256)
    const stats = origin.statsOf(path)
    assert.equal(stats.bodyBytesSent, sizes.large, 'body bytes the origin sent')
    assert.ok(disjoint(stats.completedRanges), 'no range was served twice')
  })

  it('passes request headers to the origin, so an origin that needs credentials works', { timeout: 60_000 }, async () => {
    const url = origin.serve('/private/small', files['small']!, { authorization: 'Bearer s3cret' })
    const output = join(dir.path, 'private.bin')
    const result = await dfget([url, '-O', output, '-e', daemon.socketPath, '-H', 'Authorization: Bearer s3cret', '--no-progress'])
    assert.equal(result.code, 0, result.stderr)
    assert.equal(await sha256File(output), files['small']!.sha256)
  })

  it('checks --digest and leaves no temporary file behind', { timeout: 60_000 }, async () => {
    const url = origin.serve('/digest/small', files['small']!)
    const output = join(dir.path, 'digest-ok', 'out.bin')
    await (await import('node:fs/promises')).mkdir(join(dir.path, 'digest-ok'))
    const result = await dfget([url, '-O', output, '-e', daemon.socketPath, '--digest', `sha256:${files['small']!.sha256}`, '--no-progress'])
    assert.equal(result.code, 0, result.stderr)
    assert.deepEqual(await readdir(join(dir.path, 'digest-ok')), ['out.bin'])
  })

  it('serves /metrics and /healthy on the metrics port, and counts cache hits as local_peer traffic', { timeout: 30_000 }, async () => {
    const base = `http://${daemon.metricsAddress().replace('0.0.0.0', '127.0.0.1')}`
    assert.equal((await httpGet(`${base}/healthy`)).status, 200)
    const fromCache = async (): Promise<number> => {
      const metrics = (await httpGet(`${base}/metrics`)).body.toString()
      const sample = /damselfly_dfdaemon_download_traffic_bytes_total\{type="local_peer"\} (\d+)/.exec(metrics)
      assert.ok(sample !== null, 'the daemon exports local_peer traffic')
      return Number(sample[1])
    }
    const url = origin.serve('/metrics/small', files['small']!)
    assert.equal((await dfget([url, '-O', join(dir.path, 'metrics-1.bin'), '-e', daemon.socketPath, '--no-progress'])).code, 0)
    const before = await fromCache()
    assert.equal((await dfget([url, '-O', join(dir.path, 'metrics-2.bin'), '-e', daemon.socketPath, '--no-progress'])).code, 0)
    assert.equal((await fromCache()) - before, sizes.small, 'the cache hit is counted as local_peer traffic')
    assert.equal((await httpGet(`${base}/download/aaa/${'a'.repeat(64)}`)).status, 404, 'the metrics port serves no content')
  })

  it('never serves stored content that was changed through a linked output', { timeout: 60_000 }, async () => {
    const { appendFile, chmod } = await import('node:fs/promises')
    const url = origin.serve('/linked/small', files['small']!)
    const output = join(dir.path, 'linked.bin')
    assert.equal((await dfget([url, '-O', output, '-e', daemon.socketPath, '--no-progress'])).code, 0)
    const gets = origin.statsOf('/linked/small').gets
    await chmod(output, 0o644)
    await appendFile(output, 'tampered')
    const again = join(dir.path, 'linked-again.bin')
    const result = await dfget([url, '-O', again, '-e', daemon.socketPath, '--no-progress'])
    assert.equal(result.code, 0, result.stderr)
    assert.equal(await sha256File(again), files['small']!.sha256)
    assert.ok(origin.statsOf('/linked/small').gets > gets, 'the modified task was downloaded again')
  })

  it('streams content in order over the local API with the outcome in a trailer', { timeout: 60_000 }, async () => {
    const { readFile } = await import('node:fs/promises')
    const url = origin.serve('/stream/small', files['small']!)
    const streamed = await streamDownload(daemon.socketPath, url)
    assert.equal(streamed.status, 200)
    assert.equal(streamed.result, 'ok')
    assert.deepEqual(streamed.body, await readFile(files['small']!.file))
    // Announcing 3 MiB more than it has makes the last piece fail after earlier ones streamed.
    const lying = origin.serve('/stream/lying', files['small']!, { announcedLength: sizes.small + 3 * MiB })
    const failed = await streamDownload(daemon.socketPath, lying)
    assert.equal(failed.status, 200)
    const error = JSON.parse(decodeURIComponent(failed.result ?? '')) as { code: string }
    assert.equal(error.code, 'SOURCE_TRUNCATED')
  })

  it('lets a user other than the daemon\'s download into their own directory', { timeout: 60_000 }, async (t) => {
    const { chmod, mkdir } = await import('node:fs/promises')
    if (process.getuid?.() !== 0) {
      t.skip('needs root to run dfget as another user')
      return
    }
    const home = join(dir.path, 'nobody')
    await mkdir(home)
    await (await import('node:fs/promises')).chown(home, 65534, 65534)
    const shared = await startDaemon(join(dir.path, 'shared-daemon'), { env: { DFDAEMON_DOWNLOAD_SERVER_SOCKET_MODE: '0666' } })
    t.after(() => shared.stop())
    await chmod(dir.path, 0o755)
    const output = join(home, 'out.bin')
    const url = origin.serve('/nobody/small', files['small']!)
    const { cliPath, run } = await import('./support/processes.js')
    const result = await run('runuser', ['-u', 'nobody', '--', process.execPath, cliPath('dfget'), url, '-O', output, '-e', shared.socketPath, '--no-progress'])
    assert.equal(result.code, 0, result.stderr)
    assert.equal(await sha256File(output), files['small']!.sha256)
    assert.equal((await stat(output)).uid, 65534, 'the output belongs to the user who ran dfget')
    const refused = await run('runuser', ['-u', 'nobody', '--', process.execPath, cliPath('dfget'), url, '-O', join(home, 'no.bin'), '-e', daemon.socketPath, '--no-progress'])
    assert.equal(refused.code, 1)
    assert.match(refused.stderr, /^dfget: permission denied on the dfdaemon socket/)
  })

  it('lists and describes tasks on the local API', { timeout: 30_000 }, async () => {
    const url = origin.serve('/described/small', files['small']!)
    const taskId = taskIdFor({ url })
    assert.equal((await socketGet(daemon.socketPath, `/v1/tasks/${taskId}`)).status, 404, 'not before it is downloaded')
    assert.equal((await dfget([url, '-O', join(dir.path, 'described.bin'), '-e', daemon.socketPath, '--no-progress'])).code, 0)
    const answer = await socketGet(daemon.socketPath, `/v1/tasks/${taskId}`)
    assert.equal(answer.status, 200)
    const task = JSON.parse(answer.body) as { complete: boolean; contentLength: number; pieceLength: number }
    assert.equal(task.complete, true)
    assert.equal(task.contentLength, sizes.small)
    assert.equal(task.pieceLength, pieceLengthFor(sizes.small))
    const content = await stat(join(daemon.dataDir, 'content', 'tasks', taskId.slice(0, 3), taskId))
    assert.equal(content.size, sizes.small)
    const listed = JSON.parse((await socketGet(daemon.socketPath, '/v1/tasks')).body) as { tasks: Array<{ taskId: string }> }
    assert.ok(listed.tasks.some((listedTask) => listedTask.taskId === taskId), 'the list names it')
  })
})
