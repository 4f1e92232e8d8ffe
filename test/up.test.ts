import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { MiB, sha256File, tempDir } from './support/files.js'
import { makeRandomFile, OriginServer, type Content } from './support/origin-server.js'
import { cliPath, dfget, metricValue, waitFor } from './support/processes.js'

describe('damselfly up', { timeout: 180_000 }, () => {
  let dir!: Awaited<ReturnType<typeof tempDir>>
  let origin!: OriginServer
  let content!: Content

  before(async () => {
    dir = await tempDir('up')
    origin = await OriginServer.start()
    content = await makeRandomFile(join(dir.path, 'content.bin'), 32 * MiB)
  })

  after(async () => {
    await (origin as OriginServer | undefined)?.close()
    await (dir as typeof dir | undefined)?.remove()
  })

  it('runs a manager, a scheduler and a seed peer registered with it, and a daemon that finds them through it and downloads through the seed; stops on Ctrl-C', { timeout: 150_000 }, async () => {
    const socket = join(dir.path, 'dfdaemon.sock')
    const child = spawn(process.execPath, [cliPath('damselfly'), 'up', '--data-dir', join(dir.path, 'data'), '--scheduler-port', '0', '--manager-port', '0', '--manager-grpc-port', '0'], {
      env: {
        ...process.env,
        DFDAEMON_DOWNLOAD_SERVER_SOCKET_PATH: socket,
        DFDAEMON_UPLOAD_SERVER_IP: '127.0.0.1',
        DFDAEMON_UPLOAD_SERVER_PORT: '0',
        DFDAEMON_PROXY_SERVER_IP: '127.0.0.1',
        DFDAEMON_PROXY_SERVER_PORT: '0',
        DFDAEMON_METRICS_SERVER_IP: '127.0.0.1',
        DFDAEMON_METRICS_SERVER_PORT: '0',
        DAMSELFLY_ROOT_PASSWORD: 'up-root-password',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve))
    try {
      await waitFor(() => {
        if (child.exitCode !== null) throw new Error(`damselfly up exited with ${child.exitCode}: ${stderr}`)
        return stdout.includes('Press Ctrl-C to stop.')
      }, 'damselfly up to be ready', 30_000)
      assert.match(stdout, /mirror: +http:\/\/127\.0\.0\.1:\d+/)
      assert.match(stdout, /a manager, a scheduler, a seed peer and a daemon/)
      assert.match(stdout, /trust: +mutual TLS; cluster CA held by the manager/, 'identities are set up with nothing to type')
      const api = /manager: +http:\/\/(127\.0\.0\.1:\d+)/.exec(stdout)?.[1]
      assert.ok(api, stdout)
      assert.equal((await fetch(`http://${api}/healthy`)).status, 200)
      const signin = await fetch(`http://${api}/api/v1/users/signin`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'root', password: 'up-root-password' }) })
      assert.equal(signin.status, 200, 'root signs in with the password the environment set')
      const metrics = /metrics: +http:\/\/([^/\s]+)\/metrics/.exec(stdout)?.[1]
      assert.ok(metrics, stdout)
      const url = origin.serve('/up/content', content)
      const output = join(dir.path, 'out.bin')
      const result = await dfget([url, '-O', output, '-e', socket, '--no-progress'])
      assert.equal(result.code, 0, result.stderr)
      assert.equal(await sha256File(output), content.sha256)
      assert.equal((await origin.settledStatsOf('/up/content')).bodyBytesSent, content.length, 'the origin sent the file once, to the seed peer')
      assert.equal(await metricValue(metrics, 'damselfly_dfdaemon_download_traffic_bytes_total{type="remote_peer"}'), content.length)
    } finally {
      child.kill('SIGINT')
    }
    assert.equal(await exited, 0)
  })
})
