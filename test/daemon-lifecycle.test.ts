import assert from 'node:assert/strict'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { silentLogger } from '../src/common/logger.js'
import { DAEMON_DEFAULTS } from '../src/daemon/config.js'
import { MAX_SOURCE_RANGE_BYTES } from '../src/daemon/download/source-fetcher.js'
import { DAEMON_NODE_OPTIONS } from '../src/daemon/node-options.js'
import { taskIdFor } from '../src/protocol/task-id.js'
import { pieceLengthFor } from '../src/protocol/piece.js'
import { FileContentStore } from '../src/storage/file-content-store.js'
import { MiB, sha256File, tempDir } from './support/files.js'
import { makeRandomFile, OriginServer, type Content } from './support/origin-server.js'
import { dfget, startDaemon, waitFor, type DaemonProcess } from './support/processes.js'


/** Piece numbers the store recorded for a task, read with the daemon stopped. */
async function storedPieces(dataDir: string, url: string): Promise<Set<number>> {
  const store = new FileContentStore({ logger: silentLogger() }, { dataDir })
  await store.open()
  try {
    const task = store.get(taskIdFor({ url }))
    return new Set([...(task?.pieces() ?? [])].map((piece) => piece.number))
  } finally {
    await store.close()
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/**
 * What a daemon that dfget starts is configured by: the default socket and everything else of it,
 * kept on loopback and in the test's directory.
 */
function daemonStartedByDfget(home: string, socketPath: string): Record<string, string> {
  return {
    DFDAEMON_DOWNLOAD_SERVER_SOCKET_PATH: socketPath,
    DFDAEMON_STORAGE_DIR: join(home, 'data'),
    DFDAEMON_LOG_DIR: join(home, 'logs'),
    DFDAEMON_PROXY_SERVER_IP: '127.0.0.1',
    DFDAEMON_PROXY_SERVER_PORT: '0',
    DFDAEMON_METRICS_SERVER_IP: '127.0.0.1',
    DFDAEMON_METRICS_SERVER_PORT: '0',
  }
}

describe('daemon lifecycle', { timeout: 300_000 }, () => {
  let dir!: Awaited<ReturnType<typeof tempDir>>
  let origin!: OriginServer
  let large!: Content
  const daemons: DaemonProcess[] = []

  before(async () => {
    dir = await tempDir('lifecycle')
    origin = await OriginServer.start()
    large = await makeRandomFile(join(dir.path, 'large.bin'), 300 * MiB)
  })

  after(async () => {
    for (const daemon of daemons) await daemon.stop()
    await (origin as OriginServer | undefined)?.close()
    await (dir as typeof dir | undefined)?.remove()
  })

  it('resumes after SIGKILL, fetching only the pieces it had not stored, within the back-to-source rate limit', { timeout: 180_000 }, async () => {
    const path = '/crash/large'
    const url = origin.serve(path, large)
    const home = join(dir.path, 'crash')
    const rateBytesPerSecond = 60 * MiB
    const first = await startDaemon(home, { env: { DFDAEMON_SOURCE_RATE_LIMIT: String(rateBytesPerSecond) } })
    daemons.push(first)
    const output = join(dir.path, 'crash.bin')
    const interrupted = dfget([url, '-O', output, '-e', first.socketPath, '--no-progress'])
    const stats = origin.statsOf(path)
    await waitFor(() => stats.bodyBytesSent > 30 * MiB, 'the download to pass 30 MiB')
    const fromMs = Date.now()
    await waitFor(() => stats.bodyBytesSent > 90 * MiB, 'the download to pass 90 MiB')
    const elapsedMs = Date.now() - fromMs
    // 60 MiB at 60 MiB/s is one second; socket buffers and the bucket's burst allow some slack.
    assert.ok(elapsedMs >= 750, `60 MiB took ${elapsedMs} ms under a 60 MiB/s back-to-source limit`)
    await first.kill()
    const failed = await interrupted
    assert.equal(failed.code, 1)
    assert.match(failed.stderr, /^dfget: dfdaemon went away/)

    const survived = await storedPieces(first.dataDir, url)
    const pieceLength = pieceLengthFor(large.length)
    const pieceCount = Math.ceil(large.length / pieceLength)
    assert.ok(survived.size > 0 && survived.size < pieceCount, `${survived.size} of ${pieceCount} pieces survived the crash`)
    const servedBeforeRestart = stats.completedRanges.length

    const second = await startDaemon(home)
    daemons.push(second)
    const retried = await dfget([url, '-O', output, '-e', second.socketPath, '--no-progress'])
    assert.equal(retried.code, 0, retried.stderr)
    assert.equal(await sha256File(output), large.sha256)

    // A range may carry a run of consecutive pieces; each starts and ends on piece boundaries.
    const piecesOf = ([start, end]: readonly [number, number]): number[] => {
      assert.equal(start % pieceLength, 0, `range ${start}-${end} starts on a piece boundary`)
      const first = start / pieceLength
      return Array.from({ length: Math.floor(end / pieceLength) - first + 1 }, (_, i) => first + i)
    }
    const fetchedAfter = stats.completedRanges.slice(servedBeforeRestart).flatMap(piecesOf)
    assert.deepEqual(fetchedAfter.filter((piece) => survived.has(piece)), [], 'no stored piece was fetched again')
    assert.equal(new Set(fetchedAfter).size, fetchedAfter.length, 'no piece was fetched twice after the restart')
    assert.equal(survived.size + fetchedAfter.length, pieceCount, 'stored and fetched pieces make the whole task')
    // Only what was in flight at the crash went twice: at most a run per piece slot.
    const inFlightBytes = DAEMON_DEFAULTS.download.concurrentPieceCount * MAX_SOURCE_RANGE_BYTES
    assert.ok(stats.bodyBytesSent <= large.length + inFlightBytes, `the origin sent ${stats.bodyBytesSent} bytes for ${large.length}`)
  })

  it('starts a daemon on the default socket when none answers, says what it started and where, and uses it', { timeout: 60_000 }, async () => {
    const home = join(dir.path, 'autostart')
    const url = origin.serve('/autostart', await makeRandomFile(join(dir.path, 'auto.bin'), 3 * MiB))
    const socketPath = join(home, 'dfdaemon.sock')
    const env = {
      ...daemonStartedByDfget(home, socketPath),
      // A misspelt variable: the daemon starts, and says it ignored it.
      DFDAEMON_UPLOAD_RATELIMIT: '1MiB',
    }
    const output = join(dir.path, 'auto.out')
    const result = await dfget([url, '-O', output], { env })
    assert.equal(result.code, 0, result.stderr)
    assert.equal(await sha256File(output), await sha256File(join(dir.path, 'auto.bin')))
    const logPath = join(home, 'logs', 'dfdaemon.log')
    const said = result.stderr.split('\n').find((line) => line.startsWith('dfget: started dfdaemon'))
    assert.equal(
      said?.replace(/\(pid \d+\)/, '(pid N)'),
      `dfget: started dfdaemon (pid N) in the background on ${socketPath}: data in ${join(home, 'data')}, log in ${logPath}, listening on 127.0.0.1:0 (registry mirror), 127.0.0.1:0 (metrics)`,
    )
    const lines = readFileSync(logPath, 'utf8').split('\n')
    const started = lines.find((line) => line.includes('dfdaemon started'))
    assert.ok(started, 'the background daemon logged its start')
    const { pid } = JSON.parse(started) as { pid: number }
    assert.match(said ?? '', new RegExp(`\\(pid ${pid}\\)`))
    // It runs with the daemon's Node options, as the installed dfdaemon command does.
    const commandLine = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')
    for (const option of DAEMON_NODE_OPTIONS) assert.ok(commandLine.includes(option), `the daemon runs as ${commandLine.join(' ')}`)
    const ignored = lines.find((line) => line.includes('environment variables that name no config key are ignored'))
    assert.deepEqual((JSON.parse(ignored ?? '{}') as { variables?: string[] }).variables, ['DFDAEMON_UPLOAD_RATELIMIT'])
    process.kill(pid, 'SIGTERM')
    await waitFor(() => !alive(pid), 'the background daemon to stop')
  })

  it('starts no daemon for a socket other than the default: says in one line that none answers there', { timeout: 60_000 }, async () => {
    const home = join(dir.path, 'no-autostart')
    const url = origin.serve('/no-autostart', await makeRandomFile(join(dir.path, 'no-auto.bin'), MiB))
    const elsewhere = join(home, 'elsewhere.sock')
    const env = daemonStartedByDfget(home, join(home, 'default.sock'))
    const result = await dfget([url, '-O', join(dir.path, 'no-auto.out'), '-e', elsewhere, '--no-progress'], { env })
    assert.equal(result.code, 1)
    assert.equal(result.stderr, `dfget: no dfdaemon answers on ${elsewhere}; start one there (dfdaemon --socket ${elsewhere}), or leave out -e to use ${join(home, 'default.sock')}, where dfget starts one when none runs\n`)
    assert.equal(existsSync(home), false, 'no daemon was started: no socket, data or log')
    assert.equal(origin.statsOf('/no-autostart').gets, 0)
  })
})
