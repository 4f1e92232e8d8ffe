/**
 * The BitTorrent baseline: opentracker and an aria2c seeder on the origin's namespace, an aria2c
 * on every host in RPC mode (aria2's only way to run before it is given a download). Once all are
 * up, every host is sent aria2.addTorrent at once. A leecher that has the whole file keeps seeding
 * until the last host is done, as BitTorrent peers normally do (`--seed-time=0` would make it leave
 * at once and handicap the swarm); its own finish time is written by aria2's
 * on-bt-download-complete hook, which runs when the download completes and before seeding starts.
 * The torrent is made before the round's clock, as its publisher would.
 */
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import type { ChildProcess } from 'node:child_process'
import { requireCommand } from '../../../test/support/require-command.js'
import { waitFor } from '../../../test/support/processes.js'
import { isRunning, onEveryHost, RoundProcesses, succeeded, type Delivery, type PreparedRound, type Scenario, type ScenarioContext } from '../scenario.js'

const TRACKER_PORT = 6969
const LISTEN_PORT = 6881
/** aria2's JSON-RPC, on each host's own loopback. */
const RPC_PORT = 6800
const RPC_URL = `http://127.0.0.1:${RPC_PORT}/jsonrpc`
const RPC_PROBE_TIMEOUT_MS = 5_000
/** mktorrent's -l: 2^20 = 1 MiB pieces, BitTorrent's usual size for files of this range. */
const PIECE_LENGTH_LOG2 = 20
const STARTUP_TIMEOUT_MS = 60_000
const QUERY_TIMEOUT_MS = 60_000
/** Only the tracker finds peers: no DHT, no local discovery, no peer exchange. */
export const ARIA2_COMMON = [
  '--enable-dht=false', '--enable-dht6=false', '--bt-enable-lpd=false', '--enable-peer-exchange=false', '--disable-ipv6=true',
  '--summary-interval=0', '--console-log-level=warn', '--file-allocation=none', '--bt-tracker-interval=5',
  // 0.0 with no --seed-time: seed until stopped.
  '--seed-ratio=0.0',
]
/**
 * aria2 calls the hook with GID, file count and the first file's path; the file beside it records
 * when, in epoch ms, and appears whole (renamed into place) so a poller never reads it half-written.
 */
const DONE_HOOK = `#!/bin/sh
date +%s%3N > "$3.done.tmp" && mv "$3.done.tmp" "$3.done"
`

export const BITTORRENT_PIECE_LENGTH_BYTES = 2 ** PIECE_LENGTH_LOG2

/** The request that hands a leecher the torrent: global options (directory, hook) apply to it. */
function addTorrentRequest(torrent: Buffer): string {
  return JSON.stringify({ jsonrpc: '2.0', id: 'add', method: 'aria2.addTorrent', params: [torrent.toString('base64')] })
}

const GET_VERSION_REQUEST = JSON.stringify({ jsonrpc: '2.0', id: 'ready', method: 'aria2.getVersion' })

interface Swarm {
  readonly infoHash: string
  readonly torrent: string
  readonly trackerDir: string
  readonly hook: string
  readonly addRequest: string
  readonly hostDirs: readonly string[]
  /** Each host's copy; `<file>.done` appears when the hook has stamped it. */
  readonly files: readonly string[]
}

export class BitTorrentScenario implements Scenario {
  readonly name = 'bittorrent'

  /** Makes the torrent, the tracker's whitelist, the completion hook and the addTorrent request; starts nothing. */
  async prepare(context: ScenarioContext): Promise<PreparedRound> {
    for (const [command, debianPackage] of [['aria2c', 'aria2'], ['mktorrent', 'mktorrent'], ['opentracker', 'opentracker']] as const) {
      requireCommand(command, debianPackage)
    }
    const { testbed, children, dir, payload } = context
    const origin = testbed.origin
    const announceUrl = `http://${origin.ip}:${TRACKER_PORT}/announce`
    const torrent = join(dir, `${payload.name}.torrent`)
    const made = await children.run('mktorrent', ['-a', announceUrl, '-l', String(PIECE_LENGTH_LOG2), '-o', torrent, payload.path], { timeoutMs: QUERY_TIMEOUT_MS })
    if (made.code !== 0) throw new Error(`mktorrent failed: ${made.stderr}`)
    const infoHash = /Info Hash: ([0-9a-f]{40})/.exec(testbed.output(origin, 'aria2c', ['-S', torrent], { timeoutMs: QUERY_TIMEOUT_MS }))?.[1]
    if (infoHash === undefined) throw new Error(`aria2c -S ${torrent} printed no info hash`)

    // Debian's opentracker only tracks whitelisted torrents, refuses to run as root, and chroots to
    // -d before it reads -w: the whitelist path is relative to the chroot, which nobody must enter.
    const trackerDir = join(dir, 'tracker')
    await mkdir(trackerDir, { recursive: true })
    await writeFile(join(trackerDir, 'whitelist.txt'), `${infoHash}\n`, { mode: 0o644 })
    await chmod(trackerDir, 0o755)
    const hook = join(dir, 'bt-done.sh')
    await writeFile(hook, DONE_HOOK, { mode: 0o755 })
    const addRequest = join(dir, 'add-torrent.json')
    await writeFile(addRequest, addTorrentRequest(await readFile(torrent)))
    const hostDirs = testbed.hosts.map((_, i) => join(dir, `bt-h${i + 1}`))
    await Promise.all(hostDirs.map((hostDir) => mkdir(hostDir, { recursive: true })))
    const swarm: Swarm = { infoHash, torrent, trackerDir, hook, addRequest, hostDirs, files: hostDirs.map((hostDir) => join(hostDir, basename(payload.path))) }
    const processes = new RoundProcesses(context)
    let leechers: ChildProcess[] = []
    return {
      start: async () => {
        leechers = await this.start(context, processes, swarm)
      },
      fetchAll: () => this.fetchAll(context, swarm, leechers),
      stop: () => processes.stopAll(),
    }
  }

  /**
   * The tracker, the seeder and every host's aria2c at once; resolves once the tracker lists the
   * seeder (a leecher that announces first would wait a whole tracker interval to meet it) and every
   * host's aria2c answers on its RPC port. Returns the hosts' aria2c processes, in host order.
   */
  private async start(context: ScenarioContext, processes: RoundProcesses, swarm: Swarm): Promise<ChildProcess[]> {
    const { testbed, dir, payload } = context
    const origin = testbed.origin
    const trackerLog = join(dir, 'opentracker.log')
    const tracker = processes.start(
      origin,
      'opentracker',
      ['-i', origin.ip, '-p', String(TRACKER_PORT), '-P', String(TRACKER_PORT), '-w', '/whitelist.txt', '-d', swarm.trackerDir, '-u', 'nobody'],
      { logPath: trackerLog },
    )
    const seederLog = join(dir, 'aria2-seeder.log')
    const seeder = processes.start(
      origin,
      'aria2c',
      [...ARIA2_COMMON, '-d', dirname(payload.path), `--listen-port=${LISTEN_PORT}`, '--bt-seed-unverified=true', swarm.torrent],
      { logPath: seederLog },
    )
    const leechers = testbed.hosts.map((host, i) =>
      processes.start(
        host,
        'aria2c',
        [
          ...ARIA2_COMMON, '-d', swarm.hostDirs[i]!, `--listen-port=${LISTEN_PORT}`, `--on-bt-download-complete=${swarm.hook}`,
          '--enable-rpc=true', `--rpc-listen-port=${RPC_PORT}`,
        ],
        { logPath: join(swarm.hostDirs[i]!, 'aria2.log') },
      ),
    )
    const scrapeUrl = `http://${origin.ip}:${TRACKER_PORT}/scrape?info_hash=${swarm.infoHash.replace(/../g, (byte) => `%${byte}`)}`
    const seederListed = waitFor(() => {
      if (!isRunning(tracker)) throw new Error(`opentracker exited; see ${trackerLog}`)
      if (!isRunning(seeder)) throw new Error(`the aria2c seeder exited; see ${seederLog}`)
      const scrape = (() => {
        try {
          return testbed.output(origin, 'curl', ['-sS', '--fail', scrapeUrl], { timeoutMs: QUERY_TIMEOUT_MS })
        } catch {
          return ''
        }
      })()
      return /8:completei[1-9]/.test(scrape)
    }, 'the tracker to list the seeder', STARTUP_TIMEOUT_MS)
    const rpcAnswering = testbed.hosts.map((host, i) =>
      waitFor(async () => {
        if (!isRunning(leechers[i]!)) throw new Error(`aria2c on ${host.namespace} exited; see ${join(swarm.hostDirs[i]!, 'aria2.log')}`)
        const probe = await testbed.probe(host, 'curl', ['-sS', '--fail', '--data-binary', GET_VERSION_REQUEST, RPC_URL], { timeoutMs: RPC_PROBE_TIMEOUT_MS })
        return probe.code === 0
      }, `aria2c on ${host.namespace} to answer RPC`, STARTUP_TIMEOUT_MS),
    )
    await Promise.all([seederListed, ...rpcAnswering])
    return leechers
  }

  /** Sends every host aria2.addTorrent at once, then waits for every completion stamp. */
  private async fetchAll(context: ScenarioContext, swarm: Swarm, leechers: readonly ChildProcess[]): Promise<Delivery> {
    const { testbed, downloadTimeoutMs } = context
    const startedAtMs = Date.now()
    await onEveryHost(testbed.hosts, async (host, i) => {
      const answer = join(swarm.hostDirs[i]!, 'add-torrent.answer.json')
      succeeded(await testbed.exec(host, 'curl', ['-sS', '--fail', '-o', answer, '--data-binary', `@${swarm.addRequest}`, RPC_URL], { timeoutMs: QUERY_TIMEOUT_MS }), 'aria2.addTorrent')
      const text = await readFile(answer, 'utf8')
      if (!text.includes('"result"')) throw new Error(`aria2.addTorrent answered ${text.slice(0, 300)}`)
    })
    await waitFor(() => {
      const quit = leechers.findIndex((leecher) => !isRunning(leecher))
      if (quit !== -1) throw new Error(`aria2c on host ${quit + 1} exited (${leechers[quit]?.exitCode}); see ${join(swarm.hostDirs[quit]!, 'aria2.log')}`)
      return swarm.files.every((file) => existsSync(`${file}.done`))
    }, 'every BitTorrent host to complete', downloadTimeoutMs)
    const doneAtMs = await Promise.all(swarm.files.map(async (file) => Number((await readFile(`${file}.done`, 'utf8')).trim())))
    return { files: swarm.files, hostDoneMs: doneAtMs.map((atMs) => atMs - startedAtMs) }
  }
}
