/**
 * What trust costs on the data path: one warm parent pair (a seed and a daemon that hold the file)
 * serves one child on 127.0.0.1, once per way of running the piece transfers:
 *   - `tls`: the default: pieces over TLS 1.3 with client certificates, each request carrying the
 *     child's capability;
 *   - `plain`: `upload.server.tls: false`: pieces in the clear, each request carrying the
 *     capability and a signature by the child's key;
 *   - `insecure`: `--insecure`: no identities, nothing checked, the lower bound of Damselfly's own
 *     cost;
 * and, for scale, one curl of the same file from the origin over plain HTTP. Reports the child's
 * time, CPU-seconds per GiB for the child and for the parents, and the child's peak memory.
 * Run: `node --import tsx bench/trust-cost.ts [--size 1GiB] [--rounds 3] [--modes tls,plain,insecure] [--dir /dev/shm]`.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { parseArgs } from 'node:util'
import { formatBytes, parseBytes } from '../src/common/units.js'
import { sha256File } from '../test/support/files.js'
import { makeRandomFile, OriginServer, type Content } from '../test/support/origin-server.js'
import { cliPath } from '../test/support/processes.js'
import { BenchRun } from './support/bench-run.js'
import { publishSection, sectionPreamble } from './support/benchmarks-doc.js'
import { startLoopbackCluster } from './support/loopback-cluster.js'
import { DEFAULT_DOC_PATH, positiveInteger } from './support/options.js'
import { cpuTimeMs } from './support/process-cpu.js'
import { warmMemory, warmMemoryNote } from './support/warm-memory.js'

const SECTION = 'trust-cost'
const RUN_LINE = 'node --import tsx bench/trust-cost.ts [--size 1GiB] [--rounds 3] [--modes tls,plain,insecure] [--dir /dev/shm]'
const MODES = ['tls', 'plain', 'insecure'] as const
type Mode = (typeof MODES)[number]
const GiB = 1024 ** 3
const DOWNLOAD_TIMEOUT_MS = 600_000

const USAGE = `usage: ${RUN_LINE} [--no-docs]

  --size     size of the random file (default 1GiB)
  --rounds   rounds of every mode, in alternating order; medians are reported (default 3)
  --modes    which of tls, plain, insecure to run (default all)
  --dir      a tmpfs directory for the run's files (default /dev/shm)
  --no-docs  print the table only; leave docs/benchmarks.md alone`

interface Options {
  readonly size: { readonly text: string; readonly bytes: number }
  readonly rounds: number
  readonly modes: readonly Mode[]
  readonly dir: string
  readonly updateDocs: boolean
}

/** One measured download. */
interface Sample {
  readonly elapsedMs: number
  readonly childCpuMs: number
  readonly parentsCpuMs: number
  readonly childPeakRssBytes: number
}

function parseOptions(argv: readonly string[]): Options {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      size: { type: 'string', default: '1GiB' },
      rounds: { type: 'string', default: '3' },
      modes: { type: 'string', default: MODES.join(',') },
      dir: { type: 'string', default: '/dev/shm' },
      'no-docs': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  })
  if (values.help) {
    console.log(USAGE)
    process.exit(0)
  }
  const modes = values.modes.split(',').map((mode) => mode.trim())
  const unknown = modes.filter((mode) => !(MODES as readonly string[]).includes(mode))
  if (unknown.length > 0 || modes.length === 0) throw new Error(`--modes takes ${MODES.join(', ')}; got ${values.modes}`)
  return {
    size: { text: values.size, bytes: parseBytes(values.size) },
    rounds: positiveInteger(values.rounds, '--rounds'),
    modes: modes as Mode[],
    dir: values.dir,
    updateDocs: !values['no-docs'],
  }
}

async function peakRssBytes(pid: number | undefined): Promise<number> {
  const status = await readFile(`/proc/${pid ?? 0}/status`, 'utf8').catch(() => '')
  return Number(/^VmHWM:\s+(\d+) kB$/m.exec(status)?.[1] ?? Number.NaN) * 1024
}

async function cpuOf(pids: ReadonlyArray<number | undefined>): Promise<number> {
  const times = await Promise.all(pids.map((pid) => cpuTimeMs(pid)))
  if (times.some((time) => time === undefined)) throw new Error('cannot read the CPU time of a daemon from /proc')
  return times.reduce<number>((sum, time) => sum + (time ?? 0), 0)
}

/** A fresh cluster in `mode`; a first dfget warms the seed and one daemon; the second daemon's dfget is measured. */
async function measure(run: BenchRun, mode: Mode, url: string, content: Content, dir: string): Promise<Sample> {
  const cluster = await startLoopbackCluster(run.children, dir, 2, {
    insecure: mode === 'insecure',
    daemonEnv: mode === 'plain' ? { DFDAEMON_UPLOAD_SERVER_TLS: 'false' } : {},
  })
  const [warm, child] = cluster.daemons as [typeof cluster.daemons[0], typeof cluster.daemons[0]]
  const fetch = async (socketPath: string, output: string): Promise<number> => {
    const exit = await run.children.run(process.execPath, [cliPath('dfget'), url, '-O', output, '-e', socketPath, '--no-progress'], { timeoutMs: DOWNLOAD_TIMEOUT_MS })
    if (exit.code !== 0) throw new Error(`dfget in ${mode} mode exited ${exit.code}: ${exit.stderr}`)
    if ((await sha256File(output)) !== content.sha256) throw new Error(`dfget in ${mode} mode wrote the wrong bytes`)
    await rm(output)
    return exit.elapsedMs
  }
  await fetch(warm.socketPath, join(dir, 'warm.bin'))
  const parents = [cluster.seed.child.pid, warm.child.pid]
  await warmMemory(content.length, dirname(dir))
  const [childBefore, parentsBefore] = [await cpuOf([child.child.pid]), await cpuOf(parents)]
  const elapsedMs = await fetch(child.socketPath, join(dir, 'child.bin'))
  const [childAfter, parentsAfter] = [await cpuOf([child.child.pid]), await cpuOf(parents)]
  const childPeakRssBytes = await peakRssBytes(child.child.pid)
  await run.children.stopAll()
  return { elapsedMs, childCpuMs: childAfter - childBefore, parentsCpuMs: parentsAfter - parentsBefore, childPeakRssBytes }
}

/** One curl of the file from the origin; its CPU from bash's `times`, which reports the children of the shell. */
async function measureCurl(run: BenchRun, url: string, content: Content, dir: string): Promise<Sample> {
  const output = join(dir, 'curl.bin')
  await warmMemory(content.length, dir)
  const exit = await run.children.run('bash', ['-c', 'curl -s -o "$1" "$2" && times >&2', 'curl-timed', output, url], { timeoutMs: DOWNLOAD_TIMEOUT_MS })
  if (exit.code !== 0) throw new Error(`curl exited ${exit.code}: ${exit.stderr}`)
  if ((await sha256File(output)) !== content.sha256) throw new Error('curl wrote the wrong bytes')
  await rm(output)
  const children = exit.stderr.trim().split('\n').pop() ?? ''
  const [user, system] = [...children.matchAll(/(\d+)m([\d.]+)s/g)].map((match) => Number(match[1]) * 60_000 + Number(match[2]) * 1000)
  return { elapsedMs: exit.elapsedMs, childCpuMs: (user ?? Number.NaN) + (system ?? Number.NaN), parentsCpuMs: Number.NaN, childPeakRssBytes: Number.NaN }
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[middle]! : ((sorted[middle - 1]! + sorted[middle]!) / 2)
}

const LABELS: Record<Mode | 'curl', string> = {
  tls: 'Damselfly, TLS + capability (default)',
  plain: 'Damselfly, plain + capability + signed requests (`upload.server.tls: false`)',
  insecure: 'Damselfly, `--insecure` (nothing checked)',
  curl: 'curl from the origin, plain HTTP',
}

function row(label: string, samples: readonly Sample[], sizeBytes: number, baseline: Sample[] | undefined): string {
  const gib = sizeBytes / GiB
  const perGiB = (ms: number): string => (Number.isNaN(ms) ? '–' : (ms / 1000 / gib).toFixed(2))
  const elapsed = median(samples.map((sample) => sample.elapsedMs))
  const child = median(samples.map((sample) => sample.childCpuMs))
  const parents = median(samples.map((sample) => sample.parentsCpuMs))
  // Each round's own total, then their median: the same statistic as the baseline's.
  const total = median(samples.map((sample) => sample.childCpuMs + sample.parentsCpuMs))
  const rss = median(samples.map((sample) => sample.childPeakRssBytes))
  const baseTotal = baseline === undefined ? Number.NaN : median(baseline.map((sample) => sample.childCpuMs + sample.parentsCpuMs))
  return `| ${[
    label,
    `${(elapsed / 1000).toFixed(2)} s`,
    `${((sizeBytes / 1024 ** 2) / (elapsed / 1000)).toFixed(0)} MiB/s`,
    perGiB(child),
    perGiB(parents),
    perGiB(total),
    Number.isNaN(baseTotal) || Number.isNaN(total) ? '–' : `${(total / baseTotal).toFixed(2)}x`,
    Number.isNaN(rss) ? '–' : formatBytes(rss),
  ].join(' | ')} |`
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2))
  const run = new BenchRun()
  process.once('SIGINT', () => void run.release().then(() => process.exit(130)))
  try {
    const workPath = await mkdtemp(join(options.dir, 'damselfly-bench-trust-cost-'))
    run.work = { path: workPath, remove: () => (process.env['DAMSELFLY_KEEP_TEST_DIRS'] === '1' ? Promise.resolve() : rm(workPath, { recursive: true, force: true })) }
    const origin = run.hold(await OriginServer.start(), (server) => server.close())
    const content = await makeRandomFile(join(run.work.path, 'content.bin'), options.size.bytes)
    const url = origin.serve('/trust-cost.bin', content)
    const samples = new Map<Mode | 'curl', Sample[]>()
    for (let round = 0; round < options.rounds; round++) {
      // Alternating the order keeps a drift over the run from favouring one mode.
      const order = round % 2 === 0 ? options.modes : [...options.modes].reverse()
      for (const mode of order) {
        const roundDir = join(run.work.path, `${mode}-${round}`)
        const sample = await measure(run, mode, url, content, roundDir)
        // Three copies of the file per round: on tmpfs, every round kept would soon fill the memory.
        if (process.env['DAMSELFLY_KEEP_TEST_DIRS'] !== '1') await rm(roundDir, { recursive: true, force: true })
        samples.set(mode, [...(samples.get(mode) ?? []), sample])
        console.error(`round ${round + 1}, ${mode}: ${(sample.elapsedMs / 1000).toFixed(2)} s, child ${(sample.childCpuMs / 1000).toFixed(2)} CPU-s, parents ${(sample.parentsCpuMs / 1000).toFixed(2)} CPU-s`)
      }
      samples.set('curl', [...(samples.get('curl') ?? []), await measureCurl(run, url, content, run.work.path)])
    }
    const baseline = samples.get('insecure')
    const lines = [
      `${options.rounds} rounds, ${formatBytes(options.size.bytes)}, medians; every Damselfly round starts a fresh scheduler, a seed and two daemons on 127.0.0.1, warms the seed and the first daemon with a dfget, then measures the second daemon's dfget (its pieces come from those two parents).`,
      '',
      '| piece transfers | time | rate | child CPU-s/GiB | parents CPU-s/GiB | total CPU-s/GiB | total vs `--insecure` | child peak RSS |',
      '|---|---:|---:|---:|---:|---:|---:|---:|',
      ...[...options.modes, 'curl' as const].map((mode) => row(LABELS[mode], samples.get(mode) ?? [], options.size.bytes, mode === 'curl' ? undefined : baseline)),
    ]
    const table = lines.join('\n')
    console.log(table)
    if (options.updateDocs) {
      const command = `node --import tsx bench/trust-cost.ts --size ${options.size.text} --rounds ${options.rounds} --modes ${options.modes.join(',')} --dir ${options.dir}`
      await publishSection(DEFAULT_DOC_PATH, SECTION, [...sectionPreamble({ runLine: RUN_LINE, command }), table, '', `How: every file of the run on ${options.dir}; ${warmMemoryNote('of the file and 256 MiB')}.`, ''].join('\n'))
    }
  } finally {
    await run.release()
  }
}

await main()
