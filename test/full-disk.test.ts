import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdir, readdir, statfs } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it, type TestContext } from 'node:test'
import { taskIdFor } from '../src/protocol/task-id.js'
import { MiB, sha256File, tempDir } from './support/files.js'
import { makeRandomFile, OriginServer, type Content } from './support/origin-server.js'
import { dfget, socketGet, startDaemon, waitFor, type DaemonProcess } from './support/processes.js'

const DISK_BYTES = 8 * MiB
const RESERVED_BYTES = MiB

interface SmallDisk {
  readonly daemon: DaemonProcess
  /** Free bytes of the small disk now. */
  readonly freeBytes: () => Promise<number>
}

/** The task ids the daemon holds, complete or not. */
async function storedTaskIds(daemon: DaemonProcess): Promise<string[]> {
  const answer = await socketGet(daemon.socketPath, '/v1/tasks')
  assert.equal(answer.status, 200)
  return (JSON.parse(answer.body) as { tasks: Array<{ taskId: string }> }).tasks.map((task) => task.taskId)
}

describe('a daemon whose data directory is on a small disk', { timeout: 300_000 }, () => {
  let dir!: Awaited<ReturnType<typeof tempDir>>
  let origin!: OriginServer
  let cached!: Content
  let big!: Content
  let fits!: Content
  let caseNumber = 0

  before(async () => {
    dir = await tempDir('full-disk')
    origin = await OriginServer.start()
    cached = await makeRandomFile(join(dir.path, 'cached.bin'), 3 * MiB)
    big = await makeRandomFile(join(dir.path, 'big.bin'), 20 * MiB)
    fits = await makeRandomFile(join(dir.path, 'fits.bin'), 5 * MiB)
  })

  after(async () => {
    await (origin as OriginServer | undefined)?.close()
    await (dir as typeof dir | undefined)?.remove()
  })

  /**
   * Runs `body` against a daemon whose data directory is an 8 MiB tmpfs keeping `reservedBytes` free;
   * stops the daemon and unmounts the tmpfs whatever happens. Skips without root.
   */
  async function onSmallDisk(t: TestContext, body: (disk: SmallDisk) => Promise<void>, reservedBytes = RESERVED_BYTES): Promise<void> {
    const mountPoint = join(dir.path, `disk-${++caseNumber}`)
    await mkdir(mountPoint)
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${DISK_BYTES}`, 'tmpfs', mountPoint], { stdio: 'ignore' })
    } catch {
      t.skip('needs root to mount a small tmpfs')
      return
    }
    let daemon: DaemonProcess | undefined
    try {
      const dataDir = join(mountPoint, 'data')
      daemon = await startDaemon(join(dir.path, `daemon-${caseNumber}`), {
        args: ['--data-dir', dataDir],
        env: { DFDAEMON_STORAGE_RESERVED_SPACE: String(reservedBytes), DFDAEMON_SOURCE_RETRY_COUNT: '0' },
      })
      const freeBytes = async (): Promise<number> => {
        const space = await statfs(mountPoint)
        return space.bavail * space.bsize
      }
      await body({ daemon, freeBytes })
    } finally {
      await daemon?.stop()
      execFileSync('umount', [mountPoint])
    }
  }

  async function download(daemon: DaemonProcess, url: string): Promise<{ code: number | null; stderr: string; output: string }> {
    const outDir = join(dir.path, `out-${++caseNumber}`)
    await mkdir(outDir)
    const output = join(outDir, 'out.bin')
    const result = await dfget([url, '-O', output, '-e', daemon.socketPath, '--no-progress'], { timeoutMs: 60_000 })
    if (result.code !== 0) assert.deepEqual(await readdir(outDir), [], 'a failed dfget leaves nothing behind')
    return { code: result.code, stderr: result.stderr, output }
  }

  it('stops a download of unknown length at the reserved space with NO_SPACE, and removes what it wrote', { timeout: 90_000 }, async (t) => {
    await onSmallDisk(t, async ({ daemon, freeBytes }) => {
      const freeBeforeBytes = await freeBytes()
      const url = origin.serve('/chunked-big', big, { chunked: true })
      const result = await download(daemon, url)
      assert.equal(result.code, 1)
      assert.match(result.stderr, /^dfget: the disk is full after \d+\.\d MiB of content of unknown length: not enough disk space/)
      assert.equal(result.stderr.trimEnd().split('\n').length, 1, result.stderr)
      assert.ok(origin.statsOf('/chunked-big').bodyBytesSent > 0, 'the download started')
      assert.deepEqual(await storedTaskIds(daemon), [], 'the partial task is gone')
      // What the partial task wrote is free again, give or take the store's own files.
      const freeAfterBytes = await freeBytes()
      assert.ok(freeAfterBytes >= freeBeforeBytes - 64 * 1024, `${freeAfterBytes} bytes free after, ${freeBeforeBytes} before`)
      assert.equal(daemon.child.exitCode, null)
    })
  })

  it('fails a download whose writes fill the disk with NO_SPACE, and removes what it wrote', { timeout: 90_000 }, async (t) => {
    await onSmallDisk(t, async ({ daemon, freeBytes }) => {
      const freeBeforeBytes = await freeBytes()
      // Each fits on its own, and both pass the check before either writes; together they fill the disk.
      let release!: () => void
      const holdGets = new Promise<void>((resolve) => { release = resolve })
      const paths = ['/together-1', '/together-2']
      const downloads = paths.map((path) => download(daemon, origin.serve(path, fits, { holdGets })))
      await waitFor(() => paths.every((path) => origin.statsOf(path).gets > 0), 'both downloads to ask for their first pieces')
      release()
      const results = await Promise.all(downloads)
      const failed = results.filter((result) => result.code !== 0)
      assert.ok(failed.length > 0, 'both downloads succeeded on a disk too small for them')
      // The disk fills at a piece's bytes or at its journal entry, whichever write comes first.
      for (const result of failed) assert.match(result.stderr, /^dfget: the disk is full: (writing|recording) piece \d+ failed/)
      for (const result of results.filter((each) => each.code === 0)) assert.equal(await sha256File(result.output), fits.sha256)
      const kept = await storedTaskIds(daemon)
      assert.equal(kept.length, results.length - failed.length, 'only complete tasks are kept')
      const freeAfterBytes = await freeBytes()
      assert.ok(freeAfterBytes >= freeBeforeBytes - kept.length * fits.length - 64 * 1024, `${freeAfterBytes} bytes free after, ${freeBeforeBytes} before`)
    }, 0)
  })

  it('evicts nothing for a download that would not fit even after evicting every unused task', { timeout: 90_000 }, async (t) => {
    await onSmallDisk(t, async ({ daemon }) => {
      const cachedUrl = origin.serve('/cached', cached)
      assert.equal((await download(daemon, cachedUrl)).code, 0)
      const cachedGets = origin.statsOf('/cached').gets
      const bigUrl = origin.serve('/known-big', big)
      const result = await download(daemon, bigUrl)
      assert.equal(result.code, 1)
      assert.match(result.stderr, /^dfget: not enough disk space .*need 20\.0 MiB/)
      assert.equal(origin.statsOf('/known-big').gets, 0, 'nothing was fetched')
      assert.deepEqual(await storedTaskIds(daemon), [taskIdFor({ url: cachedUrl })], 'the cached task was kept')
      const again = await download(daemon, cachedUrl)
      assert.equal(again.code, 0, again.stderr)
      assert.equal(await sha256File(again.output), cached.sha256)
      assert.equal(origin.statsOf('/cached').gets, cachedGets, 'served again from the cache')
    })
  })

  it('evicts unused tasks when that makes enough room', { timeout: 90_000 }, async (t) => {
    await onSmallDisk(t, async ({ daemon }) => {
      const cachedUrl = origin.serve('/evicted', cached)
      assert.equal((await download(daemon, cachedUrl)).code, 0)
      // 3 MiB cached and 5 MiB more, with 1 MiB reserved, do not fit on 8 MiB: the cached task goes.
      const fitsUrl = origin.serve('/fits', fits)
      const result = await download(daemon, fitsUrl)
      assert.equal(result.code, 0, result.stderr)
      assert.equal(await sha256File(result.output), fits.sha256)
      assert.deepEqual(await storedTaskIds(daemon), [taskIdFor({ url: fitsUrl })])
    })
  })
})
