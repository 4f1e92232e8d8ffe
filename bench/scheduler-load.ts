/**
 * Scheduler load: the built scheduler in a child process of its own, and in this process
 * simulated daemons that announce hosts and register thousands of peers over many tasks through
 * the real gRPC API. Reports schedules per second, the latency from `register` to the
 * scheduler's answer, and the scheduler's CPU time and memory per peer.
 * Peers come in a closed loop (a fixed number in flight) or an open one (a fixed arrival rate).
 * Run: `node --import tsx bench/scheduler-load.ts [--peers 5000] [--tasks 50] [--hosts 200] [--concurrency 1,16,64] [--rate 500]`.
 */
import { mkdir, writeFile } from 'node:fs/promises'
import { availableParallelism } from 'node:os'
import { join, resolve } from 'node:path'
import { monitorEventLoopDelay, performance } from 'node:perf_hooks'
import { parseArgs } from 'node:util'
import { formatBytes } from '../src/common/units.js'
import { PIECE_REPORT_BATCHING } from '../src/daemon/scheduler-client/report-batcher.js'
import { tempDir } from '../test/support/files.js'
import { waitFor } from '../test/support/processes.js'
import { BenchRun } from './support/bench-run.js'
import { publishSection, sectionPreamble } from './support/benchmarks-doc.js'
import { positiveInteger } from './support/options.js'
import { summarizeProfile, type ProfileSummary } from './support/cpu-profile.js'
import { seededRandom } from '../src/scheduler/resource-fixtures.js'
import type { ProcessMemory } from './support/inspector-session.js'
import { cpuTimeMs, machineBusyCpuMs } from './support/process-cpu.js'
import { metricsText, peakRssBytes, sampleSum, startSchedulerChild, type SchedulerChild } from './support/scheduler-child.js'
import { announceHosts, closeHosts, runPeer, simulatedTask, type FirstAnswer, type PeerResult, type SimulatedHost, type SimulatedTask } from './support/simulated-peers.js'

const ROOT = resolve(import.meta.dirname, '..')
const DOC_PATH = join(ROOT, 'docs', 'benchmarks.md')
const SECTION = 'scheduler-load'
const RUN_LINE = 'node --import tsx bench/scheduler-load.ts [--peers 5000] [--tasks 50] [--hosts 200] [--concurrency 1,16,64] [--rate 250,500]'
const TARGET_P99_MS = 10
const PIECE_LENGTH_BYTES = 4 * 1024 * 1024
const HOSTS_TIMEOUT_MS = 60_000
/** The profiler's sampling interval: fine enough for sub-millisecond decisions. */
const PROFILE_INTERVAL_US = 100
/** Seeds the open loop's arrival times, so that every run offers the same ones. */
const ARRIVALS_SEED = 20_261_130

const USAGE = `usage: ${RUN_LINE} [--arrivals poisson|fixed] [--pieces 16] [--timeout 60] [--profile <dir>] [--no-docs]

  --peers        peers registered in all, spread evenly over the tasks (default 5000)
  --tasks        tasks (default 50)
  --hosts        simulated hosts, each with its own gRPC connection (default 200)
  --concurrency  comma-separated numbers of peers in flight at once, each a closed loop: a
                 peer starts when another ends; each gets a fresh scheduler (default 1,16,64;
                 "none" for open-loop rows only)
  --rate         comma-separated numbers of peers started per second, each an open loop: peers
                 start on schedule however many are still in flight; each gets a fresh
                 scheduler (default: none)
  --arrivals     the open loop's gaps between starts: poisson (exponential, as independent
                 clients arrive) or fixed (default poisson)
  --pieces       pieces per task, of 4 MiB each; every peer reports each one, batched as a
                 daemon batches its reports (default 16)
  --timeout      deadline of each peer's stream, in seconds (default 60)
  --insecure     run the scheduler and the simulated hosts without identities (plaintext, no
                 capabilities), to see what trust costs the control plane
  --profile      write a V8 CPU profile of the scheduler for each row into this
                 directory and print where its time went (the profiler slows it a little)
  --no-docs      print the tables only; leave docs/benchmarks.md alone`

interface BenchOptions {
  readonly peers: number
  readonly tasks: number
  readonly hosts: number
  readonly concurrencies: readonly number[]
  readonly rates: readonly number[]
  readonly arrivals: Arrivals
  readonly pieces: number
  readonly peerTimeoutMs: number
  readonly profileDir: string | undefined
  readonly insecure: boolean
  readonly updateDocs: boolean
}

type Arrivals = 'poisson' | 'fixed'

/** How peers are started: a fixed number in flight (closed loop) or at a fixed rate (open loop). */
type Load = { readonly kind: 'closed'; readonly concurrency: number } | { readonly kind: 'open'; readonly ratePerSecond: number; readonly arrivals: Arrivals }

function loadText(load: Load): string {
  return load.kind === 'closed' ? `${load.concurrency} in flight` : `${load.ratePerSecond}/s ${load.arrivals}`
}

/** How an open loop kept its schedule. */
interface OpenLoopStats {
  /** Peers started per second, from the first start to the last. */
  readonly achievedRatePerSecond: number
  /** Peers between their start and the end of their stream: time-weighted mean, and the most at once. */
  readonly meanInFlight: number
  readonly maxInFlight: number
  /** How late this process started peers against their schedule (timer granularity, its own event loop). */
  readonly startLagP99Ms: number
}

interface RunResult {
  readonly load: Load
  readonly registrationsMs: number
  /** In the order the peers registered. */
  readonly latenciesMs: readonly number[]
  readonly answers: ReadonlyMap<FirstAnswer, number>
  readonly laterAnswers: number
  readonly requests: number
  /** Mean time of one decision inside the scheduler, from its own histogram. */
  readonly decisionMeanMs: number
  /** The histogram bucket bound at or below which 99% of the scheduler's decisions fell. */
  readonly decisionP99BoundMs: number | undefined
  readonly schedulerCpuMs: number | undefined
  readonly benchCpuMs: number
  readonly machineCpuMs: number | undefined
  /** This process's event-loop delay p99 during the run: how late it could read an answer. */
  readonly benchLoopDelayP99Ms: number
  readonly memoryBefore: ProcessMemory
  readonly memoryAfter: ProcessMemory
  readonly peakRssBytes: number | undefined
  readonly peersKnown: number
  readonly profile: ProfileSummary | undefined
  readonly openLoop: OpenLoopStats | undefined
}

type Row = { readonly load: Load; readonly outcome: { kind: 'measured'; result: RunResult } | { kind: 'failed'; reason: string } }

function parseOptions(argv: readonly string[]): BenchOptions {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      peers: { type: 'string', default: '5000' },
      tasks: { type: 'string', default: '50' },
      hosts: { type: 'string', default: '200' },
      concurrency: { type: 'string', default: '1,16,64' },
      rate: { type: 'string', default: '' },
      arrivals: { type: 'string', default: 'poisson' },
      pieces: { type: 'string', default: '16' },
      timeout: { type: 'string', default: '60' },
      profile: { type: 'string' },
      'no-docs': { type: 'boolean', default: false },
      insecure: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  })
  if (values.help) {
    console.log(USAGE)
    process.exit(0)
  }
  const peers = positiveInteger(values.peers, '--peers')
  const tasks = positiveInteger(values.tasks, '--tasks')
  if (peers < tasks) throw new Error(`--peers (${peers}) must be at least --tasks (${tasks}): each task needs a first peer`)
  const list = (text: string, flag: string): number[] => (text.trim() === 'none' ? [] : text.split(',').filter((item) => item.trim() !== '').map((item) => positiveInteger(item.trim(), flag)))
  const concurrencies = list(values.concurrency, '--concurrency')
  const rates = list(values.rate, '--rate')
  if (concurrencies.length + rates.length === 0) throw new Error('--concurrency or --rate needs at least one value')
  if (values.arrivals !== 'poisson' && values.arrivals !== 'fixed') throw new Error(`--arrivals must be poisson or fixed, got ${JSON.stringify(values.arrivals)}`)
  return {
    peers,
    tasks,
    hosts: positiveInteger(values.hosts, '--hosts'),
    concurrencies,
    rates,
    arrivals: values.arrivals,
    pieces: positiveInteger(values.pieces, '--pieces'),
    peerTimeoutMs: positiveInteger(values.timeout, '--timeout') * 1000,
    profileDir: values.profile === undefined ? undefined : resolve(values.profile),
    insecure: values.insecure,
    updateDocs: !values['no-docs'],
  }
}

/** Runs `work` on every item, at most `concurrency` at once, in order of the items. */
async function inPool<T, R>(items: readonly T[], concurrency: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = []
  let next = 0
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      for (let i = next++; i < items.length; i = next++) results[i] = await work(items[i]!)
    }),
  )
  return results
}

/**
 * Starts `work` on every item on a schedule of `ratePerSecond` starts per second, however many
 * are still running (an open loop), and waits for all of them. Gaps are exponential (Poisson
 * arrivals) or fixed. A start the timer makes late is made as soon as it can be, so the
 * schedule, not the system under test, sets the arrival times.
 */
async function atRate<T, R>(items: readonly T[], load: Extract<Load, { kind: 'open' }>, random: () => number, work: (item: T) => Promise<R>): Promise<{ results: R[]; stats: OpenLoopStats }> {
  const startedMs = performance.now()
  const lagsMs: number[] = []
  const pending: Array<Promise<R>> = []
  let dueMs = 0
  let inFlight = 0
  let maxInFlight = 0
  let busyMs = 0
  let firstStartMs: number | undefined
  let lastStartMs = startedMs
  for (const item of items) {
    const gapMs = load.arrivals === 'fixed' ? 1000 / load.ratePerSecond : (-Math.log(1 - random()) * 1000) / load.ratePerSecond
    dueMs += gapMs
    const waitMs = startedMs + dueMs - performance.now()
    if (waitMs > 0) await new Promise((resolve) => setTimeout(resolve, waitMs))
    lastStartMs = performance.now()
    firstStartMs ??= lastStartMs
    lagsMs.push(Math.max(0, lastStartMs - (startedMs + dueMs)))
    inFlight++
    maxInFlight = Math.max(maxInFlight, inFlight)
    const peerStartMs = lastStartMs
    const done = work(item).finally(() => {
      inFlight--
      busyMs += performance.now() - peerStartMs
    })
    // A failure is reported by Promise.all below; until then it must not count as unhandled.
    done.catch(() => undefined)
    pending.push(done)
  }
  const results = await Promise.all(pending)
  const elapsedMs = performance.now() - startedMs
  return {
    results,
    stats: {
      achievedRatePerSecond: firstStartMs === undefined || lastStartMs <= firstStartMs ? Number.NaN : ((items.length - 1) * 1000) / (lastStartMs - firstStartMs),
      meanInFlight: busyMs / Math.max(1, elapsedMs),
      maxInFlight,
      startLagP99Ms: percentile([...lagsMs].sort((a, b) => a - b), 0.99),
    },
  }
}

/** Nearest-rank percentile of sorted values. */
function percentile(sorted: readonly number[], share: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(share * sorted.length) - 1))] ?? Number.NaN
}

interface PeerPlan {
  readonly host: SimulatedHost
  readonly task: SimulatedTask
}

/**
 * Peer k belongs to task k mod T, so peers in flight at once hit different tasks. The first peer
 * of each task goes first, on its own, so that it finds no parent and fetches from the source;
 * the others then find parents. A task's peers sit on distinct hosts while there are enough.
 */
function plans(options: BenchOptions, hosts: readonly SimulatedHost[], tasks: readonly SimulatedTask[]): { first: PeerPlan[]; rest: PeerPlan[] } {
  const all = Array.from({ length: options.peers }, (_, k) => {
    const taskIndex = k % options.tasks
    const rank = Math.floor(k / options.tasks)
    return { host: hosts[(taskIndex * 7 + rank) % hosts.length]!, task: tasks[taskIndex]! }
  })
  return { first: all.slice(0, options.tasks), rest: all.slice(options.tasks) }
}

/** The scheduler's decision histogram summed over outcomes: mean and the bucket holding the p99. */
function decisionTimes(text: string): { meanMs: number; p99BoundMs: number | undefined } {
  const name = 'damselfly_scheduler_schedule_duration_seconds'
  const count = sampleSum(text, `${name}_count`)
  const meanMs = count === 0 ? Number.NaN : (sampleSum(text, `${name}_sum`) / count) * 1000
  const bounds = [...new Set([...text.matchAll(new RegExp(`^${name}_bucket\\{le="([^"]+)"`, 'gm'))].map((match) => match[1]!))]
    .filter((bound) => bound !== '+Inf')
    .map(Number)
    .sort((a, b) => a - b)
  const bound = bounds.find((le) => sampleSum(text, `${name}_bucket`, { le: String(le) }) >= 0.99 * count)
  return { meanMs, p99BoundMs: bound === undefined ? undefined : bound * 1000 }
}

/** Open-loop stats over the first peers' run and the rest's: the rest are nearly all of them. */
function combined(first: OpenLoopStats, rest: OpenLoopStats, restShare: number): OpenLoopStats {
  return {
    achievedRatePerSecond: rest.achievedRatePerSecond,
    meanInFlight: first.meanInFlight * (1 - restShare) + rest.meanInFlight * restShare,
    maxInFlight: Math.max(first.maxInFlight, rest.maxInFlight),
    startLagP99Ms: Math.max(first.startLagP99Ms, rest.startLagP99Ms),
  }
}

async function measure(run: BenchRun, options: BenchOptions, load: Load): Promise<RunResult> {
  const name = load.kind === 'closed' ? `concurrency-${load.concurrency}` : `rate-${load.ratePerSecond}-${load.arrivals}`
  const dir = join(run.work!.path, name)
  const scheduler: SchedulerChild = await startSchedulerChild(run.children, dir, { insecure: options.insecure })
  const hosts = await announceHosts(scheduler.address, options.hosts, scheduler.pkiDir)
  try {
    await waitFor(
      async () => sampleSum(await metricsText(scheduler.metricsAddress), 'damselfly_scheduler_hosts') >= options.hosts,
      `the scheduler to know ${options.hosts} hosts`,
      HOSTS_TIMEOUT_MS,
    )
    const tasks = Array.from({ length: options.tasks }, (_, i) => simulatedTask(i, options.pieces, PIECE_LENGTH_BYTES))
    const { first, rest } = plans(options, hosts, tasks)
    const memoryBefore = await scheduler.inspector.memoryAfterGc()
    const pid = scheduler.child.pid
    const cpuBefore = await cpuTimeMs(pid)
    const machineBefore = await machineBusyCpuMs()
    const benchBefore = process.cpuUsage()
    const loopDelay = monitorEventLoopDelay({ resolution: 1 })
    if (options.profileDir !== undefined) await scheduler.inspector.startProfiling(PROFILE_INTERVAL_US)
    loopDelay.enable()
    const startedMs = performance.now()
    const peer = (plan: PeerPlan): Promise<PeerResult> => runPeer(plan.host, plan.task, options.peerTimeoutMs)
    let results: PeerResult[]
    let openLoop: OpenLoopStats | undefined
    if (load.kind === 'closed') {
      results = [...(await inPool(first, load.concurrency, peer)), ...(await inPool(rest, load.concurrency, peer))]
    } else {
      // The first peers go before the rest here too (they must find no parent), at the same rate.
      const random = seededRandom(ARRIVALS_SEED)
      const firstRun = await atRate(first, load, random, peer)
      const restRun = await atRate(rest, load, random, peer)
      results = [...firstRun.results, ...restRun.results]
      openLoop = combined(firstRun.stats, restRun.stats, rest.length / Math.max(1, first.length + rest.length))
    }
    const registrationsMs = performance.now() - startedMs
    loopDelay.disable()
    const profile = options.profileDir === undefined ? undefined : await scheduler.inspector.stopProfiling()
    const cpuAfter = await cpuTimeMs(pid)
    const machineAfter = await machineBusyCpuMs()
    const benchUsage = process.cpuUsage(benchBefore)
    const text = await metricsText(scheduler.metricsAddress)
    const memoryAfter = await scheduler.inspector.memoryAfterGc()
    if (profile !== undefined && options.profileDir !== undefined) {
      await mkdir(options.profileDir, { recursive: true })
      const path = join(options.profileDir, `scheduler-${name}.cpuprofile`)
      await writeFile(path, JSON.stringify(profile))
      console.error(`wrote ${path}`)
    }
    const answers = new Map<FirstAnswer, number>()
    for (const result of results) answers.set(result.answer, (answers.get(result.answer) ?? 0) + 1)
    const decisions = decisionTimes(text)
    return {
      load,
      registrationsMs,
      latenciesMs: results.map((result) => result.latencyMs),
      answers,
      laterAnswers: results.reduce((sum, result) => sum + result.laterAnswers, 0),
      requests: results.reduce((sum, result) => sum + result.requests, 0),
      decisionMeanMs: decisions.meanMs,
      decisionP99BoundMs: decisions.p99BoundMs,
      schedulerCpuMs: cpuBefore === undefined || cpuAfter === undefined ? undefined : cpuAfter - cpuBefore,
      benchCpuMs: (benchUsage.user + benchUsage.system) / 1000,
      machineCpuMs: machineBefore === undefined || machineAfter === undefined ? undefined : machineAfter - machineBefore,
      benchLoopDelayP99Ms: loopDelay.percentile(99) / 1e6,
      memoryBefore,
      memoryAfter,
      peakRssBytes: await peakRssBytes(pid),
      peersKnown: sampleSum(text, 'damselfly_scheduler_peers'),
      profile: profile === undefined ? undefined : summarizeProfile(profile, ROOT),
      openLoop,
    }
  } finally {
    closeHosts(hosts)
    scheduler.inspector.close()
    await run.children.stop(scheduler.child)
  }
}

const ms = (value: number): string => (Number.isFinite(value) ? `${value < 10 ? value.toFixed(2) : value.toFixed(1)} ms` : '-')
const seconds = (valueMs: number | undefined): string => (valueMs === undefined ? '-' : `${(valueMs / 1000).toFixed(2)} s`)
const perPeer = (bytes: number, peers: number): string => formatBytes(Math.max(0, bytes / peers)).replace(/\.0 /, ' ')

function answersText(answers: ReadonlyMap<FirstAnswer, number>): string {
  const parents = answers.get('normalTask') ?? 0
  const source = answers.get('needBackToSource') ?? 0
  const other = [...answers].filter(([answer]) => answer !== 'normalTask' && answer !== 'needBackToSource')
  return `${parents} / ${source}${other.length === 0 ? '' : ` / ${other.map(([answer, n]) => `${answer} ${n}`).join(', ')}`}`
}

function latencyTable(rows: readonly Row[], options: BenchOptions): string {
  const lines = [
    '| load | registrations took | schedules/s | requests/s | latency p50 | p99 | max | p99 of the last 10% | p99 < 10 ms | first answers: parents / back-to-source | decision in the scheduler: mean / p99 bucket | bench loop delay p99 |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|---|---|---:|---:|',
  ]
  for (const row of rows) {
    if (row.outcome.kind === 'failed') {
      lines.push(`| ${loadText(row.load)} | failed: ${row.outcome.reason.replaceAll('|', '\\|').slice(0, 300)} | | | | | | | | | | |`)
      continue
    }
    const r = row.outcome.result
    const sorted = [...r.latenciesMs].sort((a, b) => a - b)
    const p99 = percentile(sorted, 0.99)
    const lastTenth = r.latenciesMs.slice(Math.floor(r.latenciesMs.length * 0.9)).sort((a, b) => a - b)
    const perSecond = (count: number): string => Math.round(count / (r.registrationsMs / 1000)).toLocaleString('en-US')
    lines.push(
      `| ${loadText(r.load)} | ${seconds(r.registrationsMs)} | ${perSecond(options.peers)} | ${perSecond(r.requests)} | ${ms(percentile(sorted, 0.5))} | ${ms(p99)} | ${ms(sorted.at(-1) ?? Number.NaN)} | ${ms(percentile(lastTenth, 0.99))} | ${p99 < TARGET_P99_MS ? 'met' : 'missed'} | ${answersText(r.answers)} | ${ms(r.decisionMeanMs)} / ≤ ${r.decisionP99BoundMs === undefined ? '-' : ms(r.decisionP99BoundMs)} | ${ms(r.benchLoopDelayP99Ms)} |`,
    )
  }
  return lines.join('\n')
}

function resourceTable(rows: readonly Row[], options: BenchOptions): string {
  const lines = [
    '| load | scheduler CPU | per peer | bench CPU | machine busy / available | peers the scheduler knows after | heap after GC: before → after | per peer | RSS: before → after (peak) | per peer |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ]
  for (const row of rows) {
    if (row.outcome.kind === 'failed') continue
    const r = row.outcome.result
    const { memoryBefore: before, memoryAfter: after } = r
    const available = (r.registrationsMs * availableParallelism())
    lines.push(
      `| ${loadText(r.load)} | ${seconds(r.schedulerCpuMs)} | ${r.schedulerCpuMs === undefined ? '-' : ms(r.schedulerCpuMs / options.peers)} | ${seconds(r.benchCpuMs)} | ${seconds(r.machineCpuMs)} / ${seconds(available)} | ${r.peersKnown} | ${formatBytes(before.heapUsedBytes)} → ${formatBytes(after.heapUsedBytes)} | ${perPeer(after.heapUsedBytes - before.heapUsedBytes, options.peers)} | ${formatBytes(before.rssBytes)} → ${formatBytes(after.rssBytes)} (${r.peakRssBytes === undefined ? '-' : formatBytes(r.peakRssBytes)}) | ${perPeer(after.rssBytes - before.rssBytes, options.peers)} |`,
    )
  }
  return lines.join('\n')
}

/** How each open-loop row kept its schedule; empty without open-loop rows. */
function openLoopTable(rows: readonly Row[]): string {
  const open = rows.flatMap((row) => (row.outcome.kind === 'measured' && row.outcome.result.openLoop !== undefined ? [{ load: row.load, stats: row.outcome.result.openLoop }] : []))
  if (open.length === 0) return ''
  return [
    '| open loop | peers started per second: offered / achieved | peers in flight: mean / max | bench start lag p99 |',
    '|---|---:|---:|---:|',
    ...open.map(({ load, stats }) => `| ${loadText(load)} | ${load.kind === 'open' ? load.ratePerSecond : '-'} / ${Math.round(stats.achievedRatePerSecond)} | ${stats.meanInFlight.toFixed(1)} / ${stats.maxInFlight} | ${ms(stats.startLagP99Ms)} |`),
  ].join('\n')
}

/** Met or missed for each row, with the scheduler's own share of the latency beside it. */
function verdict(rows: readonly Row[]): string {
  const parts = rows.map((row) => {
    if (row.outcome.kind === 'failed') return `${loadText(row.load)}: failed`
    const r = row.outcome.result
    const p99 = percentile([...r.latenciesMs].sort((a, b) => a - b), 0.99)
    const bound = r.decisionP99BoundMs === undefined ? '-' : ms(r.decisionP99BoundMs)
    return `${p99 < TARGET_P99_MS ? 'met' : 'missed'} at ${loadText(row.load)} (p99 ${ms(p99)}, of which the decision itself ≤ ${bound})`
  })
  return `p99 under ${TARGET_P99_MS} ms: ${parts.join('; ')}.`
}

function profileText(rows: readonly Row[]): string {
  const parts: string[] = []
  for (const row of rows) {
    if (row.outcome.kind !== 'measured' || row.outcome.result.profile === undefined) continue
    const profile = row.outcome.result.profile
    const busyMs = profile.profiledMs - profile.idleMs
    const share = (valueMs: number): string => `${((100 * valueMs) / Math.max(1, busyMs)).toFixed(1)}%`
    parts.push(
      `Scheduler CPU profile at ${loadText(row.load)}: ${seconds(busyMs)} busy of ${seconds(profile.profiledMs)} profiled. By file or package, self time:`,
      '',
      '| file or package | self | share of busy | with callees |',
      '|---|---:|---:|---:|',
      ...profile.files.filter((entry) => entry.name !== '(idle)').slice(0, 12).map((entry) => `| ${entry.name} | ${ms(entry.selfMs)} | ${share(entry.selfMs)} | ${ms(entry.totalMs)} |`),
      '',
      'Functions, by self time:',
      '',
      '| function | self | share of busy | with callees |',
      '|---|---:|---:|---:|',
      ...profile.functions.filter((entry) => entry.name !== '(idle)').slice(0, 15).map((entry) => `| ${entry.name.replaceAll('|', '\\|')} | ${ms(entry.selfMs)} | ${share(entry.selfMs)} | ${ms(entry.totalMs)} |`),
      '',
    )
  }
  return parts.join('\n')
}

function method(options: BenchOptions): string {
  const perTask = options.peers / options.tasks
  const { maxCount } = PIECE_REPORT_BATCHING
  return [
    `- The scheduler: \`node --inspect=127.0.0.1:0 dist/cli/damselfly.js scheduler --listen-ip 127.0.0.1 --port 0 --metrics-port 0\`, default config (info logs to a file), a fresh one for each row. The inspector is only used between measurements, to force a full GC before reading \`process.memoryUsage()\` and, with \`--profile\`, for a CPU profile.`,
    `- The simulated daemons run in the bench process: ${options.hosts} hosts, each with a gRPC channel of its own (\`grpc.use_local_subchannel_pool\`, so one HTTP/2 connection per host, as separate daemons would have) carrying its AnnounceHost stream, held open for the run, and its peers' AnnouncePeer streams. No host is a seed.`,
    `- ${options.peers} peers over ${options.tasks} tasks (${perTask.toFixed(0)} per task) of ${options.pieces} pieces of 4 MiB; peer k is task k mod ${options.tasks} on host (7 × task + k div ${options.tasks}) mod ${options.hosts}. The first peer of each task registers first and finds no parent, so it is told to fetch from the source; it then reports \`back_to_source_started\`, its pieces and \`peer_finished\`. Every later peer is offered parents and reports each piece from one of them, then \`peer_finished\`, and ends its stream, as a daemon's TaskDownload does. Pieces are reported as a daemon reports them (\`pieces_finished\`, the daemon's batching: at most ${maxCount} per message, sent ${PIECE_REPORT_BATCHING.flushDelayMs} ms after the first or before any other message); every piece here is finished at once, so a peer's ${options.pieces} pieces go in ${Math.ceil(options.pieces / maxCount)} message${options.pieces > maxCount ? 's' : ''}, where a real download spreads them over its duration. No piece bytes move; the scheduler keeps every finished peer as a parent.`,
    '- Load: "N in flight" is a closed loop, N peers between their `register` and the end of their stream at all times: a peer starts when another ends, so the slower side is always busy and a `register` queues behind the other peers\' messages. "R/s poisson" (or "fixed") is an open loop, as a fleet of independent daemons is: peers start R times per second, the gaps exponential with a fixed seed (or all 1/R), however many are still in flight; its table shows the rate achieved, the peers in flight, and how late this process started peers against the schedule (timers, its own event loop). Latency is from writing `register` to reading the decision (parents, back-to-source or any other answer after the scheduler\'s acknowledgement of the registration), measured in the bench process, so it includes both ends of gRPC and any wait in either event loop; the bench\'s own event-loop delay is shown beside it. Schedules per second is all registrations over the time from the first `register` to the last stream\'s end; requests per second counts every message the peers sent.',
    '- "Decision in the scheduler" is `damselfly_scheduler_schedule_duration_seconds` from its `/metrics`: the time of the scheduling function alone, without gRPC or queueing; its p99 is only known to the histogram\'s bucket.',
    '- Memory: `process.memoryUsage()` of the scheduler after a forced full GC, once all hosts have announced (before) and once every peer has ended (after), divided by the number of peers; peak RSS is its `VmHWM`. CPU is the user + system time of the scheduler and of the bench process during the registrations, and the machine\'s busy time, whoever used it; the scheduler\'s CPU per peer covers its whole stream (`register`, every report, the end), not the decision alone.',
    `- The scheduler, the bench and anything else running share this machine's ${availableParallelism()} cores; other benchmarks may have been running at the same time, which "machine busy" beyond the scheduler and the bench shows.`,
  ].join('\n')
}

/** An error's message with its causes' ("fetch failed" says little without its cause). */
function failureText(error: unknown): string {
  const parts: string[] = []
  for (let cause: unknown = error; cause !== undefined && parts.length < 4; cause = cause instanceof Error ? cause.cause : undefined) {
    parts.push(cause instanceof Error ? cause.message : JSON.stringify(cause))
  }
  return parts.join(': ')
}

/** The rows to run: the closed loops, then the open ones. */
function loads(options: BenchOptions): Load[] {
  return [
    ...options.concurrencies.map((concurrency): Load => ({ kind: 'closed', concurrency })),
    ...options.rates.map((ratePerSecond): Load => ({ kind: 'open', ratePerSecond, arrivals: options.arrivals })),
  ]
}

async function main(): Promise<number> {
  const options = parseOptions(process.argv.slice(2))
  const command = `node --import tsx bench/scheduler-load.ts --peers ${options.peers} --tasks ${options.tasks} --hosts ${options.hosts} --concurrency ${options.concurrencies.length === 0 ? 'none' : options.concurrencies.join(',')}${options.rates.length === 0 ? '' : ` --rate ${options.rates.join(',')}${options.arrivals === 'poisson' ? '' : ` --arrivals ${options.arrivals}`}`} --pieces ${options.pieces}${options.insecure ? ' --insecure' : ''}${options.profileDir === undefined ? '' : ' --profile <dir>'}`
  const run = new BenchRun()
  run.releaseOnSignals()
  try {
    run.work = await tempDir('bench-scheduler-load')
    const rows: Row[] = []
    for (const load of loads(options)) {
      console.error(`${options.peers} peers, ${options.tasks} tasks, ${options.hosts} hosts, ${loadText(load)}`)
      const outcome = await measure(run, options, load).then(
        (result) => ({ kind: 'measured', result }) as const,
        (error: unknown) => ({ kind: 'failed', reason: failureText(error) }) as const,
      )
      if (outcome.kind === 'failed') console.error(`failed: ${outcome.reason}`)
      rows.push({ load, outcome })
    }
    const openLoop = openLoopTable(rows)
    const tables = `${latencyTable(rows, options)}\n\n${verdict(rows)}\n\n${resourceTable(rows, options)}${openLoop === '' ? '' : `\n\n${openLoop}`}`
    const profiles = profileText(rows)
    console.log(tables)
    if (profiles !== '') console.log(`\n${profiles}`)
    if (options.updateDocs) {
      const body = [
        ...sectionPreamble({ runLine: RUN_LINE, command, build: 'after building, or `npm run bench:scheduler`' }),
        `Target (reported, not gated): ${options.peers === 5000 && options.tasks === 50 ? '' : '5,000 peers over 50 tasks '}p99 scheduling latency under ${TARGET_P99_MS} ms.`,
        '',
        tables,
        '',
        ...(profiles === '' ? [] : [profiles]),
        'How:',
        '',
        method(options),
      ].join('\n')
      await publishSection(DOC_PATH, SECTION, body)
    }
    return rows.every((row) => row.outcome.kind === 'measured') ? 0 : 1
  } finally {
    await run.release()
  }
}

process.exitCode = await main()
