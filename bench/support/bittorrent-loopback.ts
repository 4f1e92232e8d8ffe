/**
 * The BitTorrent baseline on 127.0.0.1, as bench/testbed runs it (same aria2c options, Debian's
 * opentracker with a whitelist): a .torrent made once for the file, then per round a fresh tracker
 * and a fresh aria2c seeder that already holds the file, which a leecher then downloads from.
 */
import type { ChildProcess } from 'node:child_process'
import { execFile } from 'node:child_process'
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { promisify } from 'node:util'
import { waitFor } from '../../test/support/processes.js'
import { ARIA2_COMMON, BITTORRENT_PIECE_LENGTH_BYTES } from '../testbed/scenarios/bittorrent.js'
import type { ChildProcesses } from './child-processes.js'
import { freePort } from './free-port.js'

const QUERY_TIMEOUT_MS = 120_000
const STARTUP_TIMEOUT_MS = 60_000
/** The torrent's own announce URL is never used: every aria2c is pointed at the round's tracker. */
const PLACEHOLDER_ANNOUNCE = 'http://127.0.0.1:1/announce'
/**
 * bench/testbed's hook: aria2c runs it with GID, file count and the first file's path once the
 * download is complete, before it announces its leaving and exits; the file beside the download
 * records when, in epoch ms, and appears whole (renamed into place).
 */
const DONE_HOOK = `#!/bin/sh
date +%s%3N > "$3.done.tmp" && mv "$3.done.tmp" "$3.done"
`

/** A .torrent for one file that sits in its own directory, under its own name. */
export interface LoopbackTorrent {
  readonly torrentPath: string
  /** The info hash, 40 lowercase hex digits. */
  readonly infoHash: string
  readonly contentPath: string
}

/** A running tracker and seeder; the leecher's flags to join them. */
export interface LoopbackSwarm {
  readonly tracker: ChildProcess
  readonly seeder: ChildProcess
  /**
   * aria2c arguments, before `-d`, that make a leecher of this swarm which leaves once it has the
   * file, and notes when it had it (see {@link completedAtMs}).
   */
  readonly leecherArgs: readonly string[]
}

/** Makes the .torrent with mktorrent (1 MiB pieces, as bench/testbed uses) and reads its info hash. */
export async function makeTorrent(contentPath: string, torrentPath: string): Promise<LoopbackTorrent> {
  const run = promisify(execFile)
  await run('mktorrent', ['-a', PLACEHOLDER_ANNOUNCE, '-l', String(Math.log2(BITTORRENT_PIECE_LENGTH_BYTES)), '-o', torrentPath, contentPath], { timeout: QUERY_TIMEOUT_MS })
  const { stdout } = await run('aria2c', ['-S', torrentPath], { timeout: QUERY_TIMEOUT_MS })
  const infoHash = /Info Hash: ([0-9a-f]{40})/.exec(stdout)?.[1]
  if (infoHash === undefined) throw new Error(`aria2c -S ${torrentPath} printed no info hash`)
  return { torrentPath, infoHash, contentPath }
}

function running(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null
}

/**
 * Starts opentracker and an aria2c seeder on free loopback ports, with their logs in `dir`, and
 * resolves once the tracker lists the seeder as complete; throws if either exits first.
 */
export async function startSwarm(children: ChildProcesses, torrent: LoopbackTorrent, dir: string): Promise<LoopbackSwarm> {
  const [trackerPort, seederPort, leecherPort] = [await freePort(), await freePort(), await freePort()]
  // Debian's opentracker only tracks whitelisted torrents, refuses to run as root, and chroots to
  // -d before it reads -w: the whitelist path is relative to that directory.
  const trackerDir = join(dir, 'tracker')
  await mkdir(trackerDir, { recursive: true })
  await writeFile(join(trackerDir, 'whitelist.txt'), `${torrent.infoHash}\n`, { mode: 0o644 })
  await chmod(trackerDir, 0o755)
  const trackerLog = join(dir, 'opentracker.log')
  const tracker = children.start(
    'opentracker',
    ['-i', '127.0.0.1', '-p', String(trackerPort), '-P', String(trackerPort), '-w', '/whitelist.txt', '-d', trackerDir, '-u', 'nobody'],
    { logPath: trackerLog, env: process.env },
  )
  const announce = [`--bt-exclude-tracker=*`, `--bt-tracker=http://127.0.0.1:${trackerPort}/announce`]
  const seederLog = join(dir, 'aria2c-seeder.log')
  const seeder = children.start(
    'aria2c',
    [...ARIA2_COMMON, ...announce, '-d', dirname(torrent.contentPath), `--listen-port=${seederPort}`, '--bt-seed-unverified=true', torrent.torrentPath],
    { logPath: seederLog, env: process.env },
  )
  const scrapeUrl = `http://127.0.0.1:${trackerPort}/scrape?info_hash=${torrent.infoHash.replace(/../g, (byte) => `%${byte}`)}`
  await waitFor(async () => {
    if (!running(tracker)) throw new Error(`opentracker exited; see ${trackerLog}`)
    if (!running(seeder)) throw new Error(`the aria2c seeder exited; see ${seederLog}`)
    const scrape = await fetch(scrapeUrl, { signal: AbortSignal.timeout(5_000) })
      .then(async (answer) => Buffer.from(await answer.arrayBuffer()).toString('latin1'), () => '')
    return /8:completei[1-9]/.test(scrape)
  }, 'the tracker to list the aria2c seeder', STARTUP_TIMEOUT_MS)
  const hook = join(dir, 'bt-done.sh')
  await writeFile(hook, DONE_HOOK, { mode: 0o755 })
  // `--seed-time=0`: unlike the testbed's swarm, one leecher has nobody to seed to once done.
  const leecherArgs = [...ARIA2_COMMON, ...announce, `--listen-port=${leecherPort}`, '--seed-time=0', `--on-bt-download-complete=${hook}`]
  return { tracker, seeder, leecherArgs }
}

/** The leecher's copy of the content, in `dir`. */
export function leechedPath(torrent: LoopbackTorrent, dir: string): string {
  return join(dir, basename(torrent.contentPath))
}

/** When, in epoch ms, the leecher that wrote `leeched` had the whole file, by its completion hook. */
export async function completedAtMs(leeched: string): Promise<number> {
  const text = await readFile(`${leeched}.done`, 'utf8').catch(() => '')
  const atMs = Number(text.trim())
  if (text.trim() === '' || !Number.isSafeInteger(atMs)) throw new Error(`aria2c's completion hook left no time in ${leeched}.done`)
  return atMs
}
