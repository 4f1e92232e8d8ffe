/** The data-path bench's flags, and the description of what a run with them does. */
import { parseArgs } from 'node:util'
import { parseBytes } from '../../src/common/units.js'
import { DAEMON_DEFAULTS } from '../../src/daemon/config.js'
import { validateFixedPieceLength } from '../../src/protocol/piece.js'
import { SCENARIO_NAMES, type ScenarioName } from './data-path-scenarios.js'
import { nonEmptyCommaList, positiveInteger, positiveSecondsAsMs } from './options.js'
import { warmMemoryNote } from './warm-memory.js'

export const RUN_LINE = 'npm run bench:data-path -- [--size 1GiB] [--memory-size 4GiB] [--rounds 2]'
const DEFAULT_CONCURRENCY = DAEMON_DEFAULTS.download.concurrentPieceCount
/** The schema's bound on `download.concurrentPieceCount`. */
const MAX_CONCURRENCY = 64

const USAGE = `usage: ${RUN_LINE} [options]

  --size                  size of the random file of the side-by-side scenarios (default 1GiB)
  --rounds                rounds of every scenario, in alternating order; medians are reported (default 2)
  --scenarios             which of ${SCENARIO_NAMES.join(', ')} to run (default all)
  --memory-size           size of the memory run's file (default 4GiB)
  --memory-piece-lengths  fixed piece lengths of the memory run (default 1MiB,16MiB,64MiB)
  --memory-concurrency    download.concurrentPieceCount values of the memory run (default ${DEFAULT_CONCURRENCY},${DEFAULT_CONCURRENCY * 4})
  --no-memory             skip the memory run
  --dir                   a directory on tmpfs for every file of the run (default /dev/shm)
  --timeout               deadline of each download, in seconds (default 600)
  --no-docs               print the tables only; leave docs/benchmarks.md alone`

/** A size as given and in bytes. */
export interface SizeOption {
  readonly text: string
  readonly bytes: number
}

export interface DataPathOptions {
  readonly size: SizeOption
  readonly rounds: number
  readonly scenarios: readonly ScenarioName[]
  /** Undefined with `--no-memory`. */
  readonly memory: { readonly size: SizeOption; readonly pieceLengths: readonly SizeOption[]; readonly concurrentPieceCounts: readonly number[] } | undefined
  readonly dir: string
  readonly downloadTimeoutMs: number
  readonly updateDocs: boolean
}

function size(text: string, flag: string): SizeOption {
  const bytes = parseBytes(text)
  if (bytes < 1) throw new Error(`${flag} must be at least one byte`)
  return { text, bytes }
}

/** Parses the flags; prints the usage and exits on `--help`; throws naming the flag on a bad value. */
export function parseOptions(argv: readonly string[]): DataPathOptions {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      'size': { type: 'string', default: '1GiB' },
      'rounds': { type: 'string', default: '2' },
      'scenarios': { type: 'string', default: SCENARIO_NAMES.join(',') },
      'memory-size': { type: 'string', default: '4GiB' },
      'memory-piece-lengths': { type: 'string', default: '1MiB,16MiB,64MiB' },
      'memory-concurrency': { type: 'string', default: `${DEFAULT_CONCURRENCY},${DEFAULT_CONCURRENCY * 4}` },
      'no-memory': { type: 'boolean', default: false },
      'dir': { type: 'string', default: '/dev/shm' },
      'timeout': { type: 'string', default: '600' },
      'no-docs': { type: 'boolean', default: false },
      'help': { type: 'boolean', short: 'h', default: false },
    },
  })
  if (values.help) {
    console.log(USAGE)
    process.exit(0)
  }
  const scenarios = nonEmptyCommaList(values.scenarios, '--scenarios')
  const unknown = scenarios.filter((name) => !(SCENARIO_NAMES as readonly string[]).includes(name))
  if (unknown.length > 0) throw new Error(`--scenarios takes ${SCENARIO_NAMES.join(', ')}; got ${unknown.join(', ')}`)
  const concurrency = nonEmptyCommaList(values['memory-concurrency'], '--memory-concurrency').map((text) => positiveInteger(text, '--memory-concurrency'))
  if (concurrency.some((count) => count > MAX_CONCURRENCY)) throw new Error(`--memory-concurrency values must be at most ${MAX_CONCURRENCY}`)
  return {
    size: size(values.size, '--size'),
    rounds: positiveInteger(values.rounds, '--rounds'),
    // Kept in the canonical order, so the report's rows do not depend on how the flag was written.
    scenarios: SCENARIO_NAMES.filter((name) => scenarios.includes(name)),
    memory: values['no-memory'] ? undefined : {
      size: size(values['memory-size'], '--memory-size'),
      pieceLengths: nonEmptyCommaList(values['memory-piece-lengths'], '--memory-piece-lengths').map((text) => ({ text, bytes: validateFixedPieceLength(parseBytes(text)) })),
      concurrentPieceCounts: concurrency,
    },
    dir: values.dir,
    downloadTimeoutMs: positiveSecondsAsMs(values.timeout, '--timeout'),
    updateDocs: !values['no-docs'],
  }
}

/** The command that reproduces a run with these options. */
export function commandLine(options: DataPathOptions): string {
  const memory = options.memory === undefined
    ? ['--no-memory']
    : ['--memory-size', options.memory.size.text, '--memory-piece-lengths', options.memory.pieceLengths.map((length) => length.text).join(','), '--memory-concurrency', options.memory.concurrentPieceCounts.join(',')]
  return ['npm run bench:data-path --', '--size', options.size.text, '--rounds', String(options.rounds), '--scenarios', options.scenarios.join(','), ...memory, '--dir', options.dir].join(' ')
}

/** How the run measures, as markdown bullets; every statement follows from the code and the options. */
export function method(options: DataPathOptions): string {
  return [
    `- Every file of the run (the origin's file, the daemons' storage, every download's output, aria2c's files) is under ${options.dir}, a tmpfs mount: no byte touches a disk. Every process runs on 127.0.0.1.`,
    '- Each scenario of each round starts its processes fresh, waits until they are running (and announced, to the tracker or the scheduler), opens its measured window, runs one client download, closes the window when the client exits, checks the output\'s sha256, then stops everything.',
    `- Memory: ${warmMemoryNote('of the file and 256 MiB (in the memory runs too)')}.`,
    '- Origin: bench/testbed/static-server.ts, a Node process of its own (run under tsx), serving the file from tmpfs.',
    '- curl: `curl -sS --fail --max-time <deadline> -o <file> <url>`.',
    '- aria2c: Debian\'s opentracker (whitelisting the torrent) and an aria2c seeder that holds the file (`--bt-seed-unverified=true`); the window opens once the tracker\'s scrape lists the seeder as complete. The leecher runs with bench/testbed\'s aria2c options (tracker only: no DHT, no local discovery, no peer exchange; `--file-allocation=none`) plus `--seed-time=0`, so it exits once it has the file. The .torrent has 1 MiB pieces (mktorrent), made once per run.',
    '- dfget back-to-source: a scheduler and one daemon, no seed, so the scheduler can only send the daemon to the origin; the window opens once the scheduler has logged the daemon\'s announcement. The daemon\'s `back_to_source` download counter must equal the file size.',
    '- dfget P2P: a scheduler, a seed daemon and a child daemon; a first dfget through the seed\'s own socket puts the file in the seed (outside the window); then the child\'s dfget is measured. The child\'s `remote_peer` counter must equal the file size and its `back_to_source` be 0. TLS on is the default (pieces over TLS 1.3 with client certificates); TLS off sets `upload.server.tls: false` (`DFDAEMON_UPLOAD_SERVER_TLS=false`) on both daemons: pieces in the clear, requests still signed, as aria2c sends its pieces in the clear.',
    '- dfget is `dfget <url> -O <file> -e <socket> --no-progress --timeout <deadline>`; it takes the daemon\'s stored file by a hard link (same tmpfs), so dfget moves no byte itself, where curl and aria2c write the file themselves.',
    '- Time to the whole file: from the client\'s spawn until it exits, or for aria2c until its completion hook (`--on-bt-download-complete`, as bench/testbed uses) runs, since after it aria2c still waits for its next tick to tell the tracker it leaves; throughput is the file over that time. Both include the client\'s own start-up (for aria2c also its tracker announce and its connection to the seeder). Time to the client\'s exit is shown beside it.',
    '- CPU: for the processes that were already running, user + system time from /proc/<pid>/stat, its difference between the window\'s opening and closing; for the client (curl, aria2c leecher, dfget), what GNU time reports from wait4 for its whole life. "Other load" is what /proc/stat says the machine was busy, less the scenario\'s processes and the bench\'s own, as a share of the wall time times the cores.',
    '- Peak RSS: VmHWM from /proc/<pid>/status, reset to the current RSS (`5` into /proc/<pid>/clear_refs) as the window opens, so it covers the window; the client\'s is GNU time\'s maximum RSS. A peak marked "lifetime" is one the kernel would not reset.',
    options.rounds === 1
      ? '- One round; figures are that round\'s, and ratios are quotients of them.'
      : `- ${options.rounds} rounds; the 2nd, 4th, … run the scenarios in reverse order, so a drift over the run hits all alike. Figures are medians over rounds, per scenario and per process; ratios are quotients of those medians.`,
    ...(options.memory === undefined ? [] : [
      `- Memory run: for each fixed piece length (dfget \`--piece-length\`, on the warming and the measured dfget) and each \`download.concurrentPieceCount\` (\`DFDAEMON_DOWNLOAD_CONCURRENT_PIECE_COUNT\`, on both daemons), a fresh scheduler, seed and child and one round. The seed's peak while fetching from the origin is its lifetime VmHWM read after its own download; its peak while serving and the child's are window peaks, as above. While the seed fetches, and again while the child downloads, the bench reads that daemon's \`/metrics\` every 100 ms for the V8 heap committed (\`nodejs_heap_size_total_bytes\`) and the memory Buffers hold outside it (\`nodejs_external_memory_bytes\`), keeping each one's peak, and after the download RssFile from /proc/<pid>/status: resident pages mapped from files, the node binary's and its libraries'. The child's CPU in the memory runs includes rendering its \`/metrics\` for those reads.`,
    ]),
    `- Each download has a deadline of ${options.downloadTimeoutMs / 1000} s.`,
  ].join('\n')
}
