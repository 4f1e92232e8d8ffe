/**
 * Scheduler load: simulated daemons announce hosts and register thousands of peers over many
 * tasks, sending the messages a daemon sends. By default the built scheduler runs in a child
 * process of its own and they talk to it through the real gRPC API; with `--in-process` they call
 * the same SchedulerCore in this process, without gRPC, for swarms larger than gRPC clients on
 * this machine can drive. Reports schedules per second, the latency from `register` to the
 * scheduler's answer, and the scheduler's CPU time and memory per peer.
 * Peers come in a closed loop (a fixed number in flight) or an open one (a fixed arrival rate).
 * Run: `node --import tsx bench/scheduler-load.ts [--peers 5000] [--tasks 50] [--hosts 200] [--concurrency 1,16,64] [--rate 500] [--in-process]`.
 */
import { mkdir, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { monitorEventLoopDelay, performance } from 'node:perf_hooks'
import { parseArgs } from 'node:util'
import { tempDir } from '../test/support/files.js'
import { waitFor } from '../test/support/processes.js'
import { BenchRun } from './support/bench-run.js'
import { publishSection, sectionPreamble } from './support/benchmarks-doc.js'
import { DEFAULT_DOC_PATH, positiveInteger } from './support/options.js'
import { summarizeProfile } from './support/cpu-profile.js'
import { seededRandom } from '../src/scheduler/resource-fixtures.js'
import { announceHostsInProcess, inProcessScheduler } from './support/in-process-scheduler.js'
import type { InspectorSession } from './support/inspector-session.js'
import { OwnProcessInspector } from './support/own-process-inspector.js'
import { atRate, combined, inPool } from './support/peer-loops.js'
import { cpuTimeMs, machineBusyCpuMs } from './support/process-cpu.js'
import { metricsText, peakRssBytes, sampleSum, startSchedulerChild } from './support/scheduler-child.js'
import {
  latencyTable,
  loadText,
  method,
  MODE_TEXT,
  openLoopTable,
  profileText,
  resourceTable,
  TARGET_P99_MS,
  verdict,
  type Arrivals,
  type Load,
  type OpenLoopStats,
  type Row,
  type RunResult,
  type SchedulerMode,
} from './support/scheduler-load-report.js'
import { announceHosts, closeHosts, runPeer, simulatedTask, type FirstAnswer, type PeerResult, type SimulatedHost, type SimulatedTask } from './support/simulated-peers.js'

const ROOT = resolve(import.meta.dirname, '..')
/** What each mode is held to (reported, not gated). */
const TARGETS: Readonly<Record<SchedulerMode, string>> = {
  grpc: `Target (reported, not gated): 5,000 peers over 50 tasks, p99 scheduling latency under ${TARGET_P99_MS} ms.`,
  'in-process': `Target (reported, not gated): 100,000 peers over 1,000 tasks in one scheduler, p99 decision latency under ${TARGET_P99_MS} ms, under 2 KiB of heap per peer, at least 2,000 registrations per second.`,
}
/** Each mode has a section of its own: their figures answer different questions. */
const SECTIONS: Readonly<Record<SchedulerMode, string>> = { grpc: 'scheduler-load', 'in-process': 'scheduler-load: in process' }
const RUN_LINE = 'node --import tsx bench/scheduler-load.ts [--peers 5000] [--tasks 50] [--hosts 200] [--concurrency 1,16,64] [--rate 250,500] [--in-process]'
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
  --in-process   call the scheduler's core in this process instead of a scheduler process
                 over gRPC: the same messages, without transport, TLS or capabilities
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
  readonly mode: SchedulerMode
  readonly updateDocs: boolean
}

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
      'in-process': { type: 'boolean', default: false },
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
    mode: values['in-process'] ? 'in-process' : 'grpc',
    updateDocs: !values['no-docs'],
  }
}

interface PeerPlan {
  /** Where the peer's result goes: its place in the order peers start. */
  readonly index: number
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
    return { index: k, host: hosts[(taskIndex * 7 + rank) % hosts.length]!, task: tasks[taskIndex]! }
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

/**
 * What a row's peers met, in room allocated before the run: in process, the bench's own records
 * would otherwise be counted as the scheduler's memory per peer.
 */
class PeerTally {
  readonly latenciesMs: Float64Array
  readonly answers = new Map<FirstAnswer, number>()
  laterAnswers = 0
  requests = 0

  constructor(peers: number) {
    this.latenciesMs = new Float64Array(peers)
  }

  record(index: number, result: PeerResult): void {
    this.latenciesMs[index] = result.latencyMs
    this.answers.set(result.answer, (this.answers.get(result.answer) ?? 0) + 1)
    this.laterAnswers += result.laterAnswers
    this.requests += result.requests
  }
}

/** The scheduler a row measures, fresh for it, with the simulated hosts announced. */
interface SchedulerUnderTest {
  readonly hosts: readonly SimulatedHost[]
  /** The process whose CPU and memory are the scheduler's. */
  readonly pid: number | undefined
  readonly inspector: Pick<InspectorSession, 'memoryAfterGc' | 'startProfiling' | 'stopProfiling'>
  metricsText(): Promise<string>
  stop(): Promise<void>
}

async function schedulerProcess(run: BenchRun, dir: string, options: BenchOptions): Promise<SchedulerUnderTest> {
  const scheduler = await startSchedulerChild(run.children, dir, { insecure: options.insecure })
  const hosts = await announceHosts(scheduler.address, options.hosts, scheduler.pkiDir)
  const under: SchedulerUnderTest = {
    hosts,
    pid: scheduler.child.pid,
    inspector: scheduler.inspector,
    metricsText: () => metricsText(scheduler.metricsAddress),
    stop: async () => {
      closeHosts(hosts)
      scheduler.inspector.close()
      await run.children.stop(scheduler.child)
    },
  }
  try {
    await waitFor(
      async () => sampleSum(await under.metricsText(), 'damselfly_scheduler_hosts') >= options.hosts,
      `the scheduler to know ${options.hosts} hosts`,
      HOSTS_TIMEOUT_MS,
    )
  } catch (error) {
    await under.stop()
    throw error
  }
  return under
}

function schedulerInProcess(dir: string, options: BenchOptions): SchedulerUnderTest {
  const scheduler = inProcessScheduler(join(dir, 'scheduler.log'))
  const hosts = announceHostsInProcess(scheduler.core, options.hosts)
  const inspector = new OwnProcessInspector()
  return {
    hosts,
    pid: process.pid,
    inspector,
    metricsText: () => scheduler.registry.metrics(),
    stop: async () => {
      inspector.close()
      await scheduler.stop()
    },
  }
}

async function measure(run: BenchRun, options: BenchOptions, load: Load): Promise<RunResult> {
  const name = load.kind === 'closed' ? `concurrency-${load.concurrency}` : `rate-${load.ratePerSecond}-${load.arrivals}`
  const dir = join(run.work!.path, name)
  await mkdir(dir, { recursive: true })
  const scheduler = options.mode === 'in-process' ? schedulerInProcess(dir, options) : await schedulerProcess(run, dir, options)
  try {
    const tasks = Array.from({ length: options.tasks }, (_, i) => simulatedTask(i, options.pieces, PIECE_LENGTH_BYTES))
    const { first, rest } = plans(options, scheduler.hosts, tasks)
    const tally = new PeerTally(options.peers)
    const memoryBefore = await scheduler.inspector.memoryAfterGc()
    const { pid } = scheduler
    const inProcess = options.mode === 'in-process'
    const cpuBefore = await cpuTimeMs(pid)
    const machineBefore = await machineBusyCpuMs()
    const benchBefore = process.cpuUsage()
    const loopDelay = monitorEventLoopDelay({ resolution: 1 })
    if (options.profileDir !== undefined) await scheduler.inspector.startProfiling(PROFILE_INTERVAL_US)
    loopDelay.enable()
    const startedMs = performance.now()
    const peer = async (plan: PeerPlan): Promise<void> => {
      tally.record(plan.index, await runPeer(plan.host, plan.task, options.peerTimeoutMs))
    }
    let openLoop: OpenLoopStats | undefined
    if (load.kind === 'closed') {
      await inPool(first, load.concurrency, peer)
      await inPool(rest, load.concurrency, peer)
    } else {
      // The first peers go before the rest here too (they must find no parent), at the same rate.
      const random = seededRandom(ARRIVALS_SEED)
      const firstRun = await atRate(first, load, random, peer)
      const restRun = await atRate(rest, load, random, peer)
      openLoop = combined(firstRun.stats, restRun.stats, rest.length / Math.max(1, first.length + rest.length))
    }
    const registrationsMs = performance.now() - startedMs
    loopDelay.disable()
    const profile = options.profileDir === undefined ? undefined : await scheduler.inspector.stopProfiling()
    const cpuAfter = await cpuTimeMs(pid)
    const machineAfter = await machineBusyCpuMs()
    const benchUsage = process.cpuUsage(benchBefore)
    const decisions = decisionTimes(await scheduler.metricsText())
    const peersKnown = sampleSum(await scheduler.metricsText(), 'damselfly_scheduler_peers')
    let profileSummary
    if (profile !== undefined && options.profileDir !== undefined) {
      await mkdir(options.profileDir, { recursive: true })
      const path = join(options.profileDir, `scheduler-${options.mode}-${name}.cpuprofile`)
      await writeFile(path, JSON.stringify(profile))
      console.error(`wrote ${path}`)
      profileSummary = summarizeProfile(profile, ROOT)
    }
    const memoryAfter = await scheduler.inspector.memoryAfterGc()
    return {
      load,
      registrationsMs,
      latenciesMs: tally.latenciesMs,
      answers: tally.answers,
      laterAnswers: tally.laterAnswers,
      requests: tally.requests,
      decisionMeanMs: decisions.meanMs,
      decisionP99BoundMs: decisions.p99BoundMs,
      schedulerCpuMs: cpuBefore === undefined || cpuAfter === undefined ? undefined : cpuAfter - cpuBefore,
      benchCpuMs: inProcess ? undefined : (benchUsage.user + benchUsage.system) / 1000,
      machineCpuMs: machineBefore === undefined || machineAfter === undefined ? undefined : machineAfter - machineBefore,
      benchLoopDelayP99Ms: loopDelay.percentile(99) / 1e6,
      memoryBefore,
      memoryAfter,
      peakRssBytes: await peakRssBytes(pid),
      peersKnown,
      profile: profileSummary,
      openLoop,
    }
  } finally {
    await scheduler.stop()
  }
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
  const command = `node --import tsx bench/scheduler-load.ts --peers ${options.peers} --tasks ${options.tasks} --hosts ${options.hosts} --concurrency ${options.concurrencies.length === 0 ? 'none' : options.concurrencies.join(',')}${options.rates.length === 0 ? '' : ` --rate ${options.rates.join(',')}${options.arrivals === 'poisson' ? '' : ` --arrivals ${options.arrivals}`}`} --pieces ${options.pieces}${options.insecure ? ' --insecure' : ''}${options.mode === 'in-process' ? ' --in-process' : ''}${options.profileDir === undefined ? '' : ' --profile <dir>'}`
  const run = new BenchRun()
  run.releaseOnSignals()
  try {
    run.work = await tempDir('bench-scheduler-load')
    const rows: Row[] = []
    for (const load of loads(options)) {
      console.error(`${options.peers} peers, ${options.tasks} tasks, ${options.hosts} hosts, ${loadText(load)}, ${MODE_TEXT[options.mode]}`)
      const outcome = await measure(run, options, load).then(
        (result) => ({ kind: 'measured', result }) as const,
        (error: unknown) => ({ kind: 'failed', reason: failureText(error) }) as const,
      )
      if (outcome.kind === 'failed') console.error(`failed: ${outcome.reason}`)
      rows.push({ load, outcome })
    }
    const openLoop = openLoopTable(rows)
    const tables = `Mode: ${MODE_TEXT[options.mode]}.\n\n${latencyTable(rows, options)}\n\n${verdict(rows)}\n\n${resourceTable(rows, options)}${openLoop === '' ? '' : `\n\n${openLoop}`}`
    const profiles = profileText(rows)
    console.log(tables)
    if (profiles !== '') console.log(`\n${profiles}`)
    if (options.updateDocs) {
      const body = [
        ...sectionPreamble({ runLine: RUN_LINE, command, build: 'after building, or `npm run bench:scheduler`' }),
        TARGETS[options.mode],
        '',
        tables,
        '',
        ...(profiles === '' ? [] : [profiles]),
        'How:',
        '',
        method(options),
      ].join('\n')
      await publishSection(DEFAULT_DOC_PATH, SECTIONS[options.mode], body)
    }
    return rows.every((row) => row.outcome.kind === 'measured') ? 0 : 1
  } finally {
    await run.release()
  }
}

process.exitCode = await main()
