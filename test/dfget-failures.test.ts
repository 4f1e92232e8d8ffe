import assert from 'node:assert/strict'
import { execFileSync, spawn } from 'node:child_process'
import { mkdir, readdir } from 'node:fs/promises'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { taskIdFor } from '../src/protocol/task-id.js'
import { MiB, sha256File, tempDir } from './support/files.js'
import { makeRandomFile, OriginServer, type Behaviour, type Content } from './support/origin-server.js'
import { cliPath, dfget, socketGet, startDaemon, waitFor, type DaemonProcess } from './support/processes.js'

async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return typeof address === 'object' && address !== null ? address.port : 0
}

describe('dfget refuses bad input with one line, exit 1, and nothing left behind', { timeout: 300_000 }, () => {
  let dir!: Awaited<ReturnType<typeof tempDir>>
  let origin!: OriginServer
  let daemon!: DaemonProcess
  let content!: Content
  let slowContent!: Content
  let slowDaemon!: DaemonProcess
  let caseNumber = 0

  before(async () => {
    dir = await tempDir('failures')
    origin = await OriginServer.start()
    content = await makeRandomFile(join(dir.path, 'content.bin'), 5 * MiB)
    daemon = await startDaemon(join(dir.path, 'daemon'), { env: { DFDAEMON_SOURCE_RETRY_COUNT: '1' } })
    // 40 MiB at 4 MiB/s from the origin: ten seconds in which to interrupt dfget.
    slowContent = await makeRandomFile(join(dir.path, 'slow.bin'), 40 * MiB)
    slowDaemon = await startDaemon(join(dir.path, 'slow-daemon'), { env: { DFDAEMON_SOURCE_RATE_LIMIT: '4MiB' } })
  })

  after(async () => {
    await (daemon as DaemonProcess | undefined)?.stop()
    await (slowDaemon as DaemonProcess | undefined)?.stop()
    await (origin as OriginServer | undefined)?.close()
    await (dir as typeof dir | undefined)?.remove()
  })

  /** Runs dfget into an empty directory and checks the failure's shape; returns the message. */
  async function refused(url: string, extra: string[] = [], output?: string): Promise<string> {
    const outDir = join(dir.path, `case-${++caseNumber}`)
    await mkdir(outDir)
    const result = await dfget([url, '-O', output ?? join(outDir, 'out.bin'), '-e', daemon.socketPath, '--no-progress', ...extra])
    assert.equal(result.code, 1, `exit code; stderr: ${result.stderr}`)
    const lines = result.stderr.trimEnd().split('\n')
    assert.equal(lines.length, 1, `one line of stderr, got: ${result.stderr}`)
    assert.match(lines[0] ?? '', /^dfget: /)
    assert.deepEqual(await readdir(outDir), [], 'no output or temporary file is left')
    return lines[0] ?? ''
  }

  const cases: Array<{ name: string; setup: () => Promise<{ url: string; extra?: string[] }>; message: RegExp }> = [
    { name: 'a malformed URL', setup: () => Promise.resolve({ url: 'http://exa mple.com:99999/x' }), message: /malformed URL/ },
    { name: 'an unsupported scheme', setup: () => Promise.resolve({ url: 'ftp://127.0.0.1/file' }), message: /unsupported URL scheme "ftp:"/ },
    { name: 'a 404', setup: () => Promise.resolve({ url: origin.url('/missing') }), message: /origin answered 404/ },
    { name: 'a 401', setup: () => Promise.resolve({ url: origin.serve('/needs-auth', content, { authorization: 'Bearer right' }) }), message: /origin answered 401/ },
    { name: 'a 500', setup: () => Promise.resolve({ url: origin.serve('/broken', content, { status: 500 }) }), message: /origin answered 500/ },
    {
      name: 'a refused connection',
      setup: async () => ({ url: `http://127.0.0.1:${await closedPort()}/file` }),
      message: /cannot reach origin .*connection refused|ECONNREFUSED/i,
    },
    { name: 'a body cut short', setup: () => Promise.resolve({ url: origin.serve('/cut', content, { cutAfterBytes: 1_000_000 }) }), message: /ended after \d+ of \d+ bytes/ },
    {
      name: 'a Content-Length that lies',
      setup: () => Promise.resolve({ url: origin.serve('/lying', content, { announcedLength: content.length + 3 * MiB }) }),
      message: /ended after \d+ of \d+ bytes/,
    },
    {
      name: 'a --digest mismatch',
      setup: () => Promise.resolve({ url: origin.serve('/digest-mismatch', content), extra: ['--digest', `sha256:${'0'.repeat(64)}`] }),
      message: /digest/,
    },
    { name: 'a malformed --digest', setup: () => Promise.resolve({ url: origin.url('/x'), extra: ['--digest', 'md5:abc'] }), message: /digest must be/ },
    { name: 'a malformed header', setup: () => Promise.resolve({ url: origin.url('/x'), extra: ['-H', 'no colon here'] }), message: /header must look like/ },
  ]

  for (const { name, setup, message } of cases) {
    it(`refuses ${name}`, { timeout: 60_000 }, async () => {
      const { url, extra } = await setup()
      assert.match(await refused(url, extra), message)
    })
  }

  it('removes content that failed its digest from the cache', { timeout: 30_000 }, async () => {
    const url = origin.serve('/digest-removed', content)
    const taskId = taskIdFor({ url })
    assert.match(await refused(url, ['--digest', `sha256:${'0'.repeat(64)}`]), /digest/)
    assert.ok(origin.statsOf('/digest-removed').bodyBytesSent >= content.length, 'the content was downloaded before its digest was checked')
    assert.equal((await socketGet(daemon.socketPath, `/v1/tasks/${taskId}`)).status, 404)
  })

  it('refuses a missing output directory', { timeout: 30_000 }, async () => {
    const message = await refused(origin.serve('/ok-1', content), [], join(dir.path, 'no', 'such', 'dir', 'out.bin'))
    assert.match(message, /output directory .* does not exist/)
  })

  it('refuses a read-only output directory', { timeout: 30_000 }, async (t) => {
    const readOnly = join(dir.path, 'read-only')
    await mkdir(readOnly)
    try {
      execFileSync('mount', ['--bind', '-o', 'ro', readOnly, readOnly], { stdio: 'ignore' })
    } catch {
      t.skip('needs root to make a read-only bind mount')
      return
    }
    try {
      const message = await refused(origin.serve('/ok-2', content), [], join(readOnly, 'out.bin'))
      assert.match(message, /read-only file system/)
    } finally {
      execFileSync('umount', [readOnly])
    }
  })

  it('refuses an existing output file unless --overwrite', { timeout: 30_000 }, async () => {
    const url = origin.serve('/ok-3', content)
    const output = join(dir.path, 'exists.bin')
    assert.equal((await dfget([url, '-O', output, '-e', daemon.socketPath, '--no-progress'])).code, 0)
    const again = await dfget([url, '-O', output, '-e', daemon.socketPath, '--no-progress'])
    assert.equal(again.code, 1)
    assert.match(again.stderr, /exists \(use --overwrite/)
    assert.equal((await dfget([url, '-O', output, '-e', daemon.socketPath, '--no-progress', '--overwrite'])).code, 0)
  })

  it('leaves the cache healthy: the same URLs download once the origin behaves', { timeout: 120_000 }, async () => {
    const misbehaviours: Array<{ name: string; behaviour: Behaviour; extra?: string[] }> = [
      { name: 'cut', behaviour: { cutAfterBytes: 1_000_000 } },
      { name: 'lying', behaviour: { announcedLength: content.length + 3 * MiB } },
      { name: 'broken', behaviour: { status: 500 } },
      { name: 'digest', behaviour: {}, extra: ['--digest', `sha256:${'0'.repeat(64)}`] },
    ]
    for (const { name, behaviour, extra } of misbehaviours) {
      const path = `/heal/${name}`
      await refused(origin.serve(path, content, behaviour), extra)
      const url = origin.serve(path, content)
      const output = join(dir.path, `healed-${name}.bin`)
      const result = await dfget([url, '-O', output, '-e', daemon.socketPath, '--no-progress'])
      assert.equal(result.code, 0, `${name}: ${result.stderr}`)
      assert.equal(await sha256File(output), content.sha256)
    }
  })

  it('refuses a download that does not fit on the disk before fetching it', { timeout: 60_000 }, async (t) => {
    const small = join(dir.path, 'tmpfs')
    await mkdir(small)
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', small], { stdio: 'ignore' })
    } catch {
      t.skip('needs root to mount a small tmpfs')
      return
    }
    const cramped = await startDaemon(join(small, 'daemon'), { env: { DFDAEMON_STORAGE_RESERVED_SPACE: '1MiB' } })
    try {
      const big = await makeRandomFile(join(dir.path, 'big.bin'), 20 * MiB)
      const url = origin.serve('/too-big', big)
      const outDir = join(dir.path, 'no-space-out')
      await mkdir(outDir)
      const result = await dfget([url, '-O', join(outDir, 'out.bin'), '-e', cramped.socketPath, '--no-progress'])
      assert.equal(result.code, 1)
      assert.match(result.stderr, /^dfget: not enough disk space .*need 20\.0 MiB/)
      assert.equal(origin.statsOf('/too-big').gets, 0, 'nothing was fetched before the check')
      assert.deepEqual(await readdir(outDir), [])
    } finally {
      await cramped.stop()
      execFileSync('umount', [small])
    }
  })

  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    it(`says it was interrupted by ${signal} mid-download, not that the daemon went away, and leaves nothing behind`, { timeout: 60_000 }, async () => {
      const url = origin.serve(`/interrupted-${signal}`, slowContent)
      const outDir = join(dir.path, `interrupted-${signal}`)
      await mkdir(outDir)
      const child = spawn(process.execPath, [cliPath('dfget'), url, '-O', join(outDir, 'out.bin'), '-e', slowDaemon.socketPath, '--no-progress'], { stdio: ['ignore', 'ignore', 'pipe'] })
      let stderr = ''
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
      const stats = origin.statsOf(`/interrupted-${signal}`)
      await waitFor(() => stats.bodyBytesSent > MiB, 'the download to be under way')
      child.kill(signal)
      assert.equal(await exited, 1)
      assert.equal(stderr, `dfget: interrupted by ${signal}\n`)
      assert.deepEqual(await readdir(outDir), [], 'no output or temporary file is left')
    })
  }
})
