import { availableParallelism } from 'node:os'
import { formatBytes } from '../../src/common/units.js'
import { PIECE_REPORT_BATCHING } from '../../src/daemon/scheduler-client/report-batcher.js'
import type { ProfileSummary } from './cpu-profile.js'
import type { ProcessMemory } from './inspector-session.js'
import type { FirstAnswer } from './simulated-peers.js'

// The tables and the method text of bench/scheduler-load.ts.

export const TARGET_P99_MS = 10

/** Where the scheduler runs: a process of its own behind gRPC, or this process, called directly. */
export type SchedulerMode = 'grpc' | 'in-process'

export const MODE_TEXT: Readonly<Record<SchedulerMode, string>> = {
  grpc: 'over gRPC, to a scheduler process of its own',
  'in-process': 'in process: the simulated daemons call SchedulerCore directly, no gRPC',
}

/** What the method text says of a run. */
export interface RunShape {
  readonly mode: SchedulerMode
  readonly peers: number
  readonly tasks: number
  readonly hosts: number
  readonly pieces: number
}

export type Arrivals = 'poisson' | 'fixed'

/** How peers are started: a fixed number in flight (closed loop) or at a fixed rate (open loop). */
export type Load = { readonly kind: 'closed'; readonly concurrency: number } | { readonly kind: 'open'; readonly ratePerSecond: number; readonly arrivals: Arrivals }

export function loadText(load: Load): string {
  return load.kind === 'closed' ? `${load.concurrency} in flight` : `${load.ratePerSecond}/s ${load.arrivals}`
}

/** How an open loop kept its schedule. */
export interface OpenLoopStats {
  /** Peers started per second, from the first start to the last. */
  readonly achievedRatePerSecond: number
  /** Peers between their start and the end of their stream: time-weighted mean, and the most at once. */
  readonly meanInFlight: number
  readonly maxInFlight: number
  /** How late this process started peers against their schedule (timer granularity, its own event loop). */
  readonly startLagP99Ms: number
}

export interface RunResult {
  readonly load: Load
  readonly registrationsMs: number
  /** Each peer's, from writing `register` to reading the decision, in the order the peers started. */
  readonly latenciesMs: Float64Array
  readonly answers: ReadonlyMap<FirstAnswer, number>
  readonly laterAnswers: number
  readonly requests: number
  /** Mean time of one decision inside the scheduler, from its own histogram. */
  readonly decisionMeanMs: number
  /** The histogram bucket bound at or below which 99% of the scheduler's decisions fell. */
  readonly decisionP99BoundMs: number | undefined
  /** In process, the CPU of this whole process: the scheduler's and the simulated daemons'. */
  readonly schedulerCpuMs: number | undefined
  /** The bench's own CPU; undefined in process, where it is in the scheduler's. */
  readonly benchCpuMs: number | undefined
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

export type Row = { readonly load: Load; readonly outcome: { kind: 'measured'; result: RunResult } | { kind: 'failed'; reason: string } }


/** Nearest-rank percentile of sorted values. */
export function percentile(sorted: ArrayLike<number>, share: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(share * sorted.length) - 1))] ?? Number.NaN
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

export function latencyTable(rows: readonly Row[], options: RunShape): string {
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
    const sorted = Float64Array.from(r.latenciesMs).sort()
    const p99 = percentile(sorted, 0.99)
    const lastTenth = r.latenciesMs.slice(Math.floor(r.latenciesMs.length * 0.9)).sort()
    const perSecond = (count: number): string => Math.round(count / (r.registrationsMs / 1000)).toLocaleString('en-US')
    lines.push(
      `| ${loadText(r.load)} | ${seconds(r.registrationsMs)} | ${perSecond(options.peers)} | ${perSecond(r.requests)} | ${ms(percentile(sorted, 0.5))} | ${ms(p99)} | ${ms(sorted[sorted.length - 1] ?? Number.NaN)} | ${ms(percentile(lastTenth, 0.99))} | ${p99 < TARGET_P99_MS ? 'met' : 'missed'} | ${answersText(r.answers)} | ${ms(r.decisionMeanMs)} / ≤ ${r.decisionP99BoundMs === undefined ? '-' : ms(r.decisionP99BoundMs)} | ${ms(r.benchLoopDelayP99Ms)} |`,
    )
  }
  return lines.join('\n')
}

export function resourceTable(rows: readonly Row[], options: RunShape): string {
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
export function openLoopTable(rows: readonly Row[]): string {
  const open = rows.flatMap((row) => (row.outcome.kind === 'measured' && row.outcome.result.openLoop !== undefined ? [{ load: row.load, stats: row.outcome.result.openLoop }] : []))
  if (open.length === 0) return ''
  return [
    '| open loop | peers started per second: offered / achieved | peers in flight: mean / max | bench start lag p99 |',
    '|---|---:|---:|---:|',
    ...open.map(({ load, stats }) => `| ${loadText(load)} | ${load.kind === 'open' ? load.ratePerSecond : '-'} / ${Math.round(stats.achievedRatePerSecond)} | ${stats.meanInFlight.toFixed(1)} / ${stats.maxInFlight} | ${ms(stats.startLagP99Ms)} |`),
  ].join('\n')
}

/** Met or missed for each row, with the scheduler's own share of the latency beside it. */
export function verdict(rows: readonly Row[]): string {
  const parts = rows.map((row) => {
    if (row.outcome.kind === 'failed') return `${loadText(row.load)}: failed`
    const r = row.outcome.result
    const p99 = percentile(Float64Array.from(r.latenciesMs).sort(), 0.99)
    const bound = r.decisionP99BoundMs === undefined ? '-' : ms(r.decisionP99BoundMs)
    return `${p99 < TARGET_P99_MS ? 'met' : 'missed'} at ${loadText(row.load)} (p99 ${ms(p99)}, of which the decision itself ≤ ${bound})`
  })
  return `p99 under ${TARGET_P99_MS} ms: ${parts.join('; ')}.`
}

export function profileText(rows: readonly Row[]): string {
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

/** How the scheduler and the simulated daemons ran, by mode. */
const SETUP: Readonly<Record<SchedulerMode, (hosts: number) => string[]>> = {
  grpc: (hosts) => [
    '- The scheduler: `node --inspect=127.0.0.1:0 dist/cli/damselfly.js scheduler --listen-ip 127.0.0.1 --port 0 --metrics-port 0`, default config (info logs to a file), a fresh one for each row. The inspector is only used between measurements, to force a full GC before reading `process.memoryUsage()` and, with `--profile`, for a CPU profile.',
    `- The simulated daemons run in the bench process: ${hosts} hosts, each with a gRPC channel of its own (\`grpc.use_local_subchannel_pool\`, so one HTTP/2 connection per host, as separate daemons would have) carrying its AnnounceHost stream, held open for the run, and its peers' AnnouncePeer streams. No host is a seed.`,
  ],
  'in-process': (hosts) => [
    '- The scheduler: `SchedulerCore` (src/scheduler/scheduler-core.ts, what the gRPC service calls) in the bench process, default settings, info logs to a file, no capability signed (as `--insecure`), a fresh one for each row. The process\'s own inspector forces a full GC before `process.memoryUsage()` is read and, with `--profile`, takes a CPU profile.',
    `- The simulated daemons call it directly: ${hosts} hosts announced, and for each peer a stream whose messages go to the core one at a time, in order, as the service hands them over, each encoded and decoded with protobuf as over the wire (so peers hold decoded objects of their own), each answer encoded as a gRPC write would. A stream settles on a later turn of the event loop, so peers interleave and the scheduler's deferred work runs between them. No gRPC, no HTTP/2, no TLS. No host is a seed.`,
  ],
}

const LATENCY: Readonly<Record<SchedulerMode, string>> = {
  grpc: 'Latency is from writing `register` to reading the decision (parents, back-to-source or any other answer after the scheduler\'s acknowledgement of the registration), measured in the bench process, so it includes both ends of gRPC and any wait in either event loop; the bench\'s own event-loop delay is shown beside it.',
  'in-process': 'Latency is from writing `register` to the decision written to the peer\'s stream (parents, back-to-source or any other answer after the acknowledgement of the registration): the register\'s protobuf decoding, the core\'s handling and the answer\'s encoding, with no transport; the event-loop delay shown beside it is the process\'s, scheduler included.',
}

const MEMORY_AND_CPU: Readonly<Record<SchedulerMode, string>> = {
  grpc: '- Memory: `process.memoryUsage()` of the scheduler after a forced full GC, once all hosts have announced (before) and once every peer has ended (after), divided by the number of peers; peak RSS is its `VmHWM`. CPU is the user + system time of the scheduler and of the bench process during the registrations, and the machine\'s busy time, whoever used it; the scheduler\'s CPU per peer covers its whole stream (`register`, every report, the end), not the decision alone.',
  'in-process': '- Memory: `process.memoryUsage()` of the bench process after a forced full GC, once all hosts have announced and every peer\'s plan and result slot is allocated (before), and once every peer has ended (after), divided by the number of peers: what the scheduler holds per peer; peak RSS is the process\'s `VmHWM`. CPU is the process\'s user + system time during the registrations, the simulated daemons\' share included (their protobuf and report batching), and the machine\'s busy time, whoever used it.',
}

export function method(options: RunShape): string {
  const perTask = options.peers / options.tasks
  const { maxCount } = PIECE_REPORT_BATCHING
  return [
    ...SETUP[options.mode](options.hosts),
    `- ${options.peers} peers over ${options.tasks} tasks (${perTask.toFixed(0)} per task) of ${options.pieces} pieces of 4 MiB; peer k is task k mod ${options.tasks} on host (7 × task + k div ${options.tasks}) mod ${options.hosts}. The first peer of each task registers first and finds no parent, so it is told to fetch from the source; it then reports \`back_to_source_started\`, its pieces and \`peer_finished\`. Every later peer is offered parents and reports each piece from one of them, then \`peer_finished\`, and ends its stream, as a daemon's TaskDownload does. Pieces are reported as a daemon reports them (\`pieces_finished\`, the daemon's batching: at most ${maxCount} per message, sent ${PIECE_REPORT_BATCHING.flushDelayMs} ms after the first or before any other message); every piece here is finished at once, so a peer's ${options.pieces} pieces go in ${Math.ceil(options.pieces / maxCount)} message${options.pieces > maxCount ? 's' : ''}, where a real download spreads them over its duration. No piece bytes move; the scheduler keeps every finished peer as a parent.`,
    `- Load: "N in flight" is a closed loop, N peers between their \`register\` and the end of their stream at all times: a peer starts when another ends, so the slower side is always busy and a \`register\` queues behind the other peers' messages. "R/s poisson" (or "fixed") is an open loop, as a fleet of independent daemons is: peers start R times per second, the gaps exponential with a fixed seed (or all 1/R), however many are still in flight; its table shows the rate achieved, the peers in flight, and how late this process started peers against the schedule (timers, its own event loop). ${LATENCY[options.mode]} Schedules per second is all registrations over the time from the first \`register\` to the last stream's end; requests per second counts every message the peers sent.`,
    '- "Decision in the scheduler" is `damselfly_scheduler_schedule_duration_seconds` from its metrics: the time of the scheduling function alone, without parsing, transport or queueing; its p99 is only known to the histogram\'s bucket.',
    MEMORY_AND_CPU[options.mode],
    `- The scheduler, the bench and anything else running share this machine's ${availableParallelism()} cores; other benchmarks may have been running at the same time, which "machine busy" beyond the scheduler and the bench shows.`,
  ].join('\n')
}
