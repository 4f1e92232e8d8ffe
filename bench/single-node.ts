/**
 * Single-node speed: one daemon, one local origin, one random file. Each round times, in
 * alternating order, `curl` straight from the origin, `dfget` through the daemon for a URL it has
 * never seen (cold), and `dfget` for the same URL again (warm), then compares the medians with
 * the targets. Run: `node --import tsx bench/single-node.ts [--size 1GiB] [--rounds 3]`.
 */
import type { ChildProcess } from 'node:child_process'
import { mkdir, readdir, readFile, rm, stat } from 'node:fs/promises'
import { request } from 'node:http'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { formatBytes, parseBytes } from '../src/common/units.js'
import { DAEMON_NODE_OPTIONS } from '../src/daemon/node-options.js'
import { sha256File, tempDir } from '../test/support/files.js'
import { makeRandomFile, OriginServer, type Content } from '../test/support/origin-server.js'
import { cliPath, socketGet, waitFor } from '../test/support/processes.js'
import { publishSection, sectionPreamble } from './support/benchmarks-doc.js'
import { DEFAULT_DOC_PATH, positiveInteger } from './support/options.js'
import type { ChildProcesses } from './support/child-processes.js'
import { cpuTimeMs } from './support/process-cpu.js'
import { warmMemory, warmMemoryNote } from './support/warm-memory.js'
import { BenchRun } from './support/bench-run.js'

const ROOT = resolve(import.meta.dirname, '..')
const SECTION = 'single-node'
/** dfget's cold time over curl's, and its warm time over curl's: at most these. */
const TARGETS = { coldToCurl: 1.2, warmToCurl: 0.5 } as const
const RUN_TIMEOUT_MS = 180_000
const STARTUP_SAMPLES = 3
const RUN_LINE = 'node --import tsx bench/single-node.ts [--size 1GiB] [--rounds 3]'

interface BenchOptions {
  /** As given on the command line, for the command shown in the report. */
  readonly sizeText: string
  readonly sizeBytes: number
  readonly rounds: number
  readonly updateDocs: boolean
  /** When set, the daemon and every dfget write V8 CPU profiles here. */
  readonly cpuProfDir: string | undefined
}

type Kind = 'curl' | 'cold' | 'warm'

interface RoundResult {
  readonly round: number
  readonly order: readonly Kind[]
  readonly elapsedMs: Record<Kind, number>
  /** The daemon's own `task done` costMs for the cold download. */
  readonly coldTaskCostMs: number | undefined
  /** User plus system CPU time the daemon spent during the cold download. */
  readonly coldDaemonCpuMs: number | undefined
}

interface Daemon {
  readonly child: ChildProcess
  readonly socketPath: string
  readonly logPath: string
}

const USAGE = `usage: ${RUN_LINE} [--no-docs] [--cpu-prof-dir DIR]

  --size          size of the random file served by the origin (default 1GiB)
  --rounds        interleaved rounds of curl, dfget cold and dfget warm (default 3)
  --no-docs       print the table only; leave docs/benchmarks.md alone
  --cpu-prof-dir  write V8 CPU profiles of the daemon and of each dfget into DIR`

function parseOptions(argv: readonly string[]): BenchOptions {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      size: { type: 'string', default: '1GiB' },
      rounds: { type: 'string', default: '3' },
      'no-docs': { type: 'boolean', default: false },
      'cpu-prof-dir': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  })
  if (values.help) {
    console.log(USAGE)
    process.exit(0)
  }
  const rounds = positiveInteger(values.rounds, '--rounds')
  const sizeBytes = parseBytes(values.size)
  if (sizeBytes < 1) throw new Error('--size must be at least one byte')
  const cpuProfDir = values['cpu-prof-dir']
  return { sizeText: values.size, sizeBytes, rounds, updateDocs: !values['no-docs'], cpuProfDir: cpuProfDir === undefined ? undefined : resolve(cpuProfDir) }
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2
}

/** Warns when a source file is newer than the build, since the bench runs what `dist/` holds. */
async function warnIfBuildIsStale(): Promise<void> {
  const builtMs = (await stat(cliPath('dfget'))).mtimeMs
  const entries = await readdir(join(ROOT, 'src'), { recursive: true, withFileTypes: true })
  for (const entry of entries) {
    if (!entry.isFile() || !entry.name.endsWith('.ts') || entry.name.endsWith('.test.ts')) continue
    const path = join(entry.parentPath, entry.name)
    if ((await stat(path)).mtimeMs > builtMs) {
      console.warn(`warning: ${path} is newer than dist/; run \`npm run build\` to bench the current source`)
      return
    }
  }
}

async function startDaemon(children: ChildProcesses, dir: string, cpuProfDir: string | undefined): Promise<Daemon> {
  const socketPath = join(dir, 'dfdaemon.sock')
  const logPath = join(dir, 'dfdaemon.log')
  await mkdir(dir, { recursive: true })
  const profile = cpuProfDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${cpuProfDir}`, '--cpu-prof-name=dfdaemon.cpuprofile']
  const child = children.start(
    process.execPath,
    [...profile, ...DAEMON_NODE_OPTIONS, cliPath('dfdaemon'), '--data-dir', join(dir, 'data'), '--socket', socketPath, '--upload-port', '0', '--proxy-port', '0'],
    { logPath, env: { ...process.env, DFDAEMON_UPLOAD_SERVER_IP: '127.0.0.1' } },
  )
  await waitFor(async () => {
    if (child.exitCode !== null) throw new Error(`dfdaemon exited with ${child.exitCode}: ${(await readFile(logPath, 'utf8')).slice(-2000)}`)
    return socketGet(socketPath, '/healthy').then((answer) => answer.status === 200, () => false)
  }, 'dfdaemon to answer /healthy')
  return { child, socketPath, logPath }
}

/** The costMs of the last `task done` the daemon logged for `url`. */
async function taskCostMs(daemon: Daemon, url: string): Promise<number | undefined> {
  const lines = (await readFile(daemon.logPath, 'utf8')).split('\n').reverse()
  for (const line of lines) {
    if (!line.includes('"task done"')) continue
    const entry = JSON.parse(line) as { url?: string; costMs?: number }
    if (entry.url === url) return entry.costMs
  }
  return undefined
}

/** Deletes the daemon's task for `url`, so rounds do not pile gigabytes up in its store. */
async function forgetTask(daemon: Daemon, url: string): Promise<void> {
  const listing = await socketGet(daemon.socketPath, '/v1/tasks')
  const { tasks } = JSON.parse(listing.body) as { tasks: Array<{ taskId: string; url: string }> }
  const task = tasks.find((candidate) => candidate.url === url)
  if (task === undefined) throw new Error(`the daemon has no task for ${url}`)
  const status = await new Promise<number>((done, reject) => {
    const req = request({ socketPath: daemon.socketPath, path: `/v1/tasks/${task.taskId}`, method: 'DELETE' }, (res) => {
      res.resume()
      res.on('end', () => done(res.statusCode ?? 0))
    })
    req.on('error', reject)
    req.end()
  })
  if (status !== 204) throw new Error(`deleting task ${task.taskId} answered ${status}`)
}

/** This bench's run: the shared cleanup, plus the origin it serves from. */
class SingleNodeRun extends BenchRun {
  origin: OriginServer | undefined
}

async function timeDfgetStartupMs(children: ChildProcesses): Promise<number> {
  const samples: number[] = []
  for (let i = 0; i < STARTUP_SAMPLES; i++) {
    const exit = await children.run(process.execPath, [cliPath('dfget'), '--version'], { timeoutMs: RUN_TIMEOUT_MS })
    if (exit.code !== 0) throw new Error(`dfget --version exited with ${exit.code}: ${exit.stderr}`)
    samples.push(exit.elapsedMs)
  }
  return median(samples)
}

async function runRounds(run: SingleNodeRun, options: BenchOptions, daemon: Daemon, content: Content): Promise<RoundResult[]> {
  const { children } = run
  const origin = run.origin!
  const outputDir = run.work!.path
  const results: RoundResult[] = []
  for (let round = 1; round <= options.rounds; round++) {
    const path = `/round-${round}/blob.bin`
    const url = origin.serve(path, content)
    const stats = origin.statsOf(path)
    // Alternating curl's turn keeps a drift over the run (page cache, writeback, thermal) from
    // favouring one side; warm must follow cold, since cold is what warms the daemon.
    const order: Kind[] = round % 2 === 1 ? ['curl', 'cold', 'warm'] : ['cold', 'warm', 'curl']
    const elapsedMs: Record<Kind, number> = { curl: 0, cold: 0, warm: 0 }
    let coldDaemonCpuMs: number | undefined
    for (const kind of order) {
      const output = join(outputDir, `${kind}.out`)
      await rm(output, { force: true })
      // Flush the previous run's dirty pages so its writeback does not land in this run's time.
      const synced = await children.run('sync', [], { timeoutMs: RUN_TIMEOUT_MS })
      if (synced.code !== 0) throw new Error(`sync exited with ${synced.code}: ${synced.stderr}`)
      // The daemon writes the file it stores, and the client its output.
      await warmMemory(2 * content.length)
      const originRequestsBefore = stats.gets + stats.heads
      const profile = options.cpuProfDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${options.cpuProfDir}`, `--cpu-prof-name=dfget-${kind}-${round}.cpuprofile`]
      const daemonCpuBeforeMs = await cpuTimeMs(daemon.child.pid)
      const exit = kind === 'curl'
        ? await children.run('curl', ['-s', '-o', output, url], { timeoutMs: RUN_TIMEOUT_MS })
        : await children.run(process.execPath, [...profile, cliPath('dfget'), url, '-O', output, '-e', daemon.socketPath, '--no-progress'], { timeoutMs: RUN_TIMEOUT_MS })
      const daemonCpuAfterMs = await cpuTimeMs(daemon.child.pid)
      if (kind === 'cold' && daemonCpuBeforeMs !== undefined && daemonCpuAfterMs !== undefined) coldDaemonCpuMs = daemonCpuAfterMs - daemonCpuBeforeMs
      if (exit.code !== 0) throw new Error(`${kind} exited with ${exit.code ?? exit.signal ?? 'nothing'}: ${exit.stderr.slice(-2000)}`)
      const digest = await sha256File(output)
      if (digest !== content.sha256) throw new Error(`${kind} wrote content with sha256 ${digest}, expected ${content.sha256}`)
      if (kind === 'warm' && stats.gets + stats.heads !== originRequestsBefore) {
        throw new Error(`warm dfget reached the origin (${stats.gets + stats.heads - originRequestsBefore} requests): it was not served from the daemon's store`)
      }
      await rm(output, { force: true })
      elapsedMs[kind] = exit.elapsedMs
    }
    const coldTaskCostMs = await taskCostMs(daemon, url)
    await forgetTask(daemon, url)
    const result: RoundResult = { round, order, elapsedMs, coldTaskCostMs, coldDaemonCpuMs }
    results.push(result)
    console.error(`round ${round}: curl ${seconds(elapsedMs.curl)}, cold ${seconds(elapsedMs.cold)} (daemon task ${optionalSeconds(coldTaskCostMs)}, daemon CPU ${optionalSeconds(coldDaemonCpuMs)}), warm ${seconds(elapsedMs.warm)}`)
  }
  return results
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(2)} s`
}

function optionalSeconds(ms: number | undefined): string {
  return ms === undefined ? '?' : seconds(ms)
}

function ratio(value: number): string {
  return `${value.toFixed(2)}x`
}

function medianOf(values: ReadonlyArray<number | undefined>): number | undefined {
  const known = values.filter((value) => value !== undefined)
  return known.length === 0 ? undefined : median(known)
}

function report(results: readonly RoundResult[], sizeBytes: number, dfgetStartupMs: number): { table: string; passed: boolean } {
  const elapsed = (kind: Kind): number => median(results.map((result) => result.elapsedMs[kind]))
  const curlMs = elapsed('curl')
  const coldMs = elapsed('cold')
  const warmMs = elapsed('warm')
  const coldRatio = coldMs / curlMs
  const warmRatio = warmMs / curlMs
  const row = (cells: readonly string[]): string => `| ${cells.join(' | ')} |`
  const rows = results.map(({ round, order, elapsedMs, coldTaskCostMs, coldDaemonCpuMs }) => row([
    String(round), order.join(', '), seconds(elapsedMs.curl), seconds(elapsedMs.cold), optionalSeconds(coldTaskCostMs),
    optionalSeconds(coldDaemonCpuMs), seconds(elapsedMs.warm), ratio(elapsedMs.cold / elapsedMs.curl), ratio(elapsedMs.warm / elapsedMs.curl),
  ]))
  const medianRow = row([
    'median', '', seconds(curlMs), seconds(coldMs), optionalSeconds(medianOf(results.map((result) => result.coldTaskCostMs))),
    optionalSeconds(medianOf(results.map((result) => result.coldDaemonCpuMs))), seconds(warmMs), ratio(coldRatio), ratio(warmRatio),
  ].map((cell) => (cell === '' ? cell : `**${cell}**`)))
  const mibPerSecond = (ms: number): string => `${(sizeBytes / 1024 ** 2 / (ms / 1000)).toFixed(0)} MiB/s`
  const coldPassed = coldRatio <= TARGETS.coldToCurl
  const warmPassed = warmRatio <= TARGETS.warmToCurl
  const table = [
    `Download of ${formatBytes(sizeBytes)}. Wall time of each command from spawn to exit; "daemon task" is the \`costMs\` of the`,
    `daemon's \`task done\` log line (origin to store), "daemon CPU" its user + system CPU time during the cold dfget.`,
    '',
    '| round | order | curl | dfget cold | daemon task (cold) | daemon CPU (cold) | dfget warm | cold / curl | warm / curl |',
    '|---:|---|---:|---:|---:|---:|---:|---:|---:|',
    ...rows,
    medianRow,
    '',
    '| goal | ratio of medians | target | result |',
    '|---|---:|---:|---|',
    `| dfget cold vs curl | ${ratio(coldRatio)} | ≤ ${ratio(TARGETS.coldToCurl)} | ${coldPassed ? 'met' : 'missed'} |`,
    `| dfget warm vs curl | ${ratio(warmRatio)} | ≤ ${ratio(TARGETS.warmToCurl)} | ${warmPassed ? 'met' : 'missed'} |`,
    '',
    `Throughput at the median: curl ${mibPerSecond(curlMs)}, dfget cold ${mibPerSecond(coldMs)}, dfget warm ${mibPerSecond(warmMs)}.`,
    `A dfget process that only starts and exits (\`dfget --version\`) takes ${seconds(dfgetStartupMs)}.`,
  ].join('\n')
  return { table, passed: coldPassed && warmPassed }
}

function method(options: BenchOptions): string {
  return [
    `- Origin: a node:http server on 127.0.0.1 with Range support (test/support/origin-server.ts), in the bench process, serving one random file from the page cache.`,
    `- curl: \`curl -s -o <file> <url>\`. dfget: \`dfget <url> -O <file> -e <socket> --no-progress\` against one dfdaemon (default config: 4 concurrent 4 MiB ranged GETs) started before any timing.`,
    `- Cold uses a URL path the daemon has never seen (\`/round-N/blob.bin\`, same bytes); warm repeats it. The origin is checked not to be hit by warm.`,
    `- Each command writes a new output file in the same temp dir; it is checked against the sha256 and deleted afterwards, and \`sync\` runs before each timed command. The page cache cannot be dropped, so every run reads a cached origin file.`,
    `- Memory: ${warmMemoryNote('of twice the file and 256 MiB, after the `sync`')}.`,
    `- ${options.rounds} rounds, curl first in odd rounds and last in even ones. The daemon's task is deleted after each round.`,
  ].join('\n')
}

async function main(): Promise<number> {
  const options = parseOptions(process.argv.slice(2))
  const command = `node --import tsx bench/single-node.ts --size ${options.sizeText} --rounds ${options.rounds}`
  await warnIfBuildIsStale()
  const run = new SingleNodeRun()
  const interrupted = (signal: NodeJS.Signals): void => {
    console.error(`\n${signal}: stopping children and removing temp files`)
    void run.release().finally(() => process.exit(130))
  }
  process.once('SIGINT', interrupted)
  process.once('SIGTERM', interrupted)
  try {
    run.work = await tempDir('bench-single-node')
    const workDir = run.work.path
    console.error(`writing ${formatBytes(options.sizeBytes)} of random bytes in ${workDir}`)
    const content = await makeRandomFile(join(workDir, 'origin.bin'), options.sizeBytes)
    run.origin = run.hold(await OriginServer.start(), (server) => server.close())
    const daemon = await startDaemon(run.children, join(workDir, 'daemon'), options.cpuProfDir)
    const dfgetStartupMs = await timeDfgetStartupMs(run.children)
    const results = await runRounds(run, options, daemon, content)
    const { table, passed } = report(results, options.sizeBytes, dfgetStartupMs)
    console.log(table)
    if (options.updateDocs) {
      const body = [
        ...sectionPreamble({ runLine: RUN_LINE, command }),
        table,
        '',
        'How:',
        '',
        method(options),
      ].join('\n')
      await publishSection(DEFAULT_DOC_PATH, SECTION, body)
    }
    return passed ? 0 : 1
  } finally {
    await run.release()
  }
}

process.exitCode = await main()
