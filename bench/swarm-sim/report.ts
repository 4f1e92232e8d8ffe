/**
 * A simulated run's figures, computed from its SwarmResult and its scenario alone, and the
 * markdown that shows them: one table per scenario, N and size, and a summary across them.
 */
import { formatBytes } from '../../src/common/units.js'
import { hostLowerBoundMs, lowerBoundTerms } from './lower-bound.js'
import type { RunSpec } from './run-options.js'
import type { HostResult, Scenario, SimHost, SwarmResult } from './scenario.js'

/** One swarm's run of one scenario, and what it cost to simulate. */
export interface SwarmRun {
  readonly swarm: string
  readonly result: SwarmResult
  readonly wallMs: number
}

export interface RunOutcome {
  readonly spec: RunSpec
  readonly scenario: Scenario
  readonly runs: readonly SwarmRun[]
}

/** What the report says of one swarm's run; times in ms from the start, shares of the content's size. */
export interface SwarmFigures {
  readonly swarm: string
  /** Downloading hosts that stayed; `unfinished` of them never held everything. */
  readonly staying: number
  readonly unfinished: number
  readonly left: number
  readonly medianMs: number | undefined
  readonly p99Ms: number | undefined
  readonly lastMs: number | undefined
  readonly boundMs: number
  /** Each finishing host's time over its own bound (hostLowerBoundMs): median and p99. */
  readonly ownBoundRatio: { readonly median: number | undefined; readonly p99: number | undefined }
  readonly originEgressShare: number
  readonly seedEgressShare: number
  /** Bytes each downloading host uploaded, over the content's size. */
  readonly upload: { readonly min: number; readonly median: number; readonly max: number; readonly jain: number }
  readonly decisionsPerSecond: number
  readonly simulatedMs: number
  readonly wallMs: number
  readonly events: number
}

/** The nearest-rank percentile of ascending values; undefined for none. */
export function percentile(ascending: readonly number[], share: number): number | undefined {
  if (ascending.length === 0) return undefined
  return ascending[Math.min(ascending.length - 1, Math.max(0, Math.ceil(share * ascending.length) - 1))]
}

/** Jain's fairness index: 1 when every value is equal, 1/n when one holds everything; 1 for all zeros. */
export function jainIndex(values: readonly number[]): number {
  const sum = values.reduce((total, value) => total + value, 0)
  const squares = values.reduce((total, value) => total + value * value, 0)
  return squares === 0 ? 1 : (sum * sum) / (values.length * squares)
}

export function contentBytes(scenario: Scenario): number {
  return scenario.tasks.reduce((sum, task) => sum + task.sizeBytes, 0)
}

/** How soon some staying hosts finished: their times, ascending, and each one's over its own bound (hostLowerBoundMs). */
interface Finishing {
  readonly count: number
  readonly times: readonly number[]
  readonly medianMs: number | undefined
  readonly p99Ms: number | undefined
  readonly ownBoundRatio: { readonly median: number | undefined; readonly p99: number | undefined }
}

function finishing(scenario: Scenario, hostsById: ReadonlyMap<number, SimHost>, staying: readonly HostResult[]): Finishing {
  const finished = staying.filter((host): host is HostResult & { finishedAtMs: number } => host.finishedAtMs !== undefined)
  const times = finished.map((host) => host.finishedAtMs).sort((a, b) => a - b)
  const ownRatios = finished
    .map((host) => {
      const sim = hostsById.get(host.host)
      return sim === undefined ? Number.NaN : host.finishedAtMs / hostLowerBoundMs(scenario, sim)
    })
    .sort((a, b) => a - b)
  return {
    count: finished.length,
    times,
    medianMs: percentile(times, 0.5),
    p99Ms: percentile(times, 0.99),
    ownBoundRatio: { median: percentile(ownRatios, 0.5), p99: percentile(ownRatios, 0.99) },
  }
}

function hostsByIdOf(scenario: Scenario): Map<number, SimHost> {
  return new Map(scenario.hosts.map((host) => [host.id, host]))
}

export function swarmFigures(scenario: Scenario, run: SwarmRun): SwarmFigures {
  const { result } = run
  const sizeBytes = contentBytes(scenario)
  const downloaders = result.hosts.filter((host) => !host.seed)
  const staying = downloaders.filter((host) => !host.left)
  const done = finishing(scenario, hostsByIdOf(scenario), staying)
  const uploads = downloaders.map((host) => host.uploadedBytes / sizeBytes).sort((a, b) => a - b)
  return {
    swarm: run.swarm,
    staying: staying.length,
    unfinished: staying.length - done.count,
    left: downloaders.length - staying.length,
    medianMs: done.medianMs,
    p99Ms: done.p99Ms,
    lastMs: done.count === staying.length ? done.times.at(-1) : undefined,
    boundMs: lowerBoundTerms(scenario).boundMs,
    ownBoundRatio: done.ownBoundRatio,
    originEgressShare: result.originEgressBytes / sizeBytes,
    seedEgressShare: result.seedEgressBytes / sizeBytes,
    upload: { min: uploads[0] ?? 0, median: percentile(uploads, 0.5) ?? 0, max: uploads.at(-1) ?? 0, jain: jainIndex(uploads) },
    decisionsPerSecond: result.simulatedMs > 0 ? result.schedulerDecisions / (result.simulatedMs / 1000) : 0,
    simulatedMs: result.simulatedMs,
    wallMs: run.wallMs,
    events: result.events,
  }
}

/** The hosts of one downlink rate in one swarm's run: how soon they finished, alone and against their own bounds. */
export interface ClassFigures {
  readonly downBytesPerMs: number
  readonly staying: number
  readonly unfinished: number
  readonly medianMs: number | undefined
  readonly p99Ms: number | undefined
  readonly ownBoundRatio: { readonly median: number | undefined; readonly p99: number | undefined }
}

/**
 * The staying downloaders grouped by downlink rate, slowest first: where hosts differ, the
 * swarm's percentiles hide which class is late (a fast third can sit at 2x its bound while the
 * last host, a slow one, is at 1x the run's).
 */
export function classFigures(scenario: Scenario, run: SwarmRun): ClassFigures[] {
  const hostsById = hostsByIdOf(scenario)
  const staying = run.result.hosts.filter((host) => !host.seed && !host.left)
  return byDownlink(staying, (host) => hostsById.get(host.host)?.links.downBytesPerMs)
    .map(([downBytesPerMs, staying]) => {
      const done = finishing(scenario, hostsById, staying)
      return { downBytesPerMs, staying: staying.length, unfinished: staying.length - done.count, medianMs: done.medianMs, p99Ms: done.p99Ms, ownBoundRatio: done.ownBoundRatio }
    })
}

/** Items grouped by their host's downlink rate (bytes per ms), slowest first; items without one are left out. */
export function byDownlink<T>(items: readonly T[], downBytesPerMs: (item: T) => number | undefined): Array<[number, T[]]> {
  const groups = new Map<number, T[]>()
  for (const item of items) {
    const rate = downBytesPerMs(item)
    if (rate === undefined) continue
    const group = groups.get(rate)
    if (group === undefined) groups.set(rate, [item])
    else group.push(item)
  }
  return [...groups].sort(([a], [b]) => a - b)
}

/** A rate in bytes per ms as links are named: 1 Gbit/s, 100 Mbit/s. */
export function linkRate(bytesPerMs: number): string {
  const bitsPerSecond = bytesPerMs * 8 * 1000
  return bitsPerSecond >= 1e9 ? `${+(bitsPerSecond / 1e9).toFixed(2)} Gbit/s` : `${+(bitsPerSecond / 1e6).toFixed(2)} Mbit/s`
}

const CLASS_COLUMNS = ['swarm', 'downlink', 'hosts', 'median host', 'p99 host', 'median / own bound', 'p99 / own bound', 'unfinished'] as const

/** Per class of downlink, when the run's hosts have more than one: undefined otherwise. */
export function classReport(outcome: RunOutcome): string | undefined {
  const tables = outcome.runs.map((run) => ({ run, classes: classFigures(outcome.scenario, run) }))
  if (tables.every(({ classes }) => classes.length < 2)) return undefined
  const rows = tables.flatMap(({ run, classes }) =>
    classes.map((c) => [
      swarmLabel(run.swarm), linkRate(c.downBytesPerMs), String(c.staying), seconds(c.medianMs), seconds(c.p99Ms),
      ratio(c.ownBoundRatio.median), ratio(c.ownBoundRatio.p99), String(c.unfinished),
    ]),
  )
  return [
    'By downlink rate:',
    '',
    `| ${CLASS_COLUMNS.join(' | ')} |`,
    `|---|---|${CLASS_COLUMNS.slice(2).map(() => '---:').join('|')}|`,
    ...rows.map((row) => `| ${row.join(' | ')} |`),
  ].join('\n')
}

const SWARM_LABELS: Readonly<Record<string, string>> = { damselfly: 'Damselfly (real scheduler)', bittorrent: 'BitTorrent-like baseline' }

export function swarmLabel(swarm: string): string {
  return SWARM_LABELS[swarm] ?? swarm
}

export function seconds(ms: number | undefined): string {
  return ms === undefined ? '—' : `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`
}

export function ratio(value: number | undefined): string {
  return value === undefined || !Number.isFinite(value) ? '—' : `${value.toFixed(2)}x`
}

function over(ms: number | undefined, boundMs: number): number | undefined {
  return ms === undefined ? undefined : ms / boundMs
}

function duration(ms: number): string {
  return ms < 60_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`
}

function count(value: number): string {
  return value >= 1e6 ? `${(value / 1e6).toFixed(1)} M` : value >= 1e4 ? `${Math.round(value / 1e3)} k` : String(value)
}

export function runTitle(spec: RunSpec): string {
  return `${spec.scenario}, N = ${spec.hosts.toLocaleString('en-US')} × ${formatBytes(spec.sizeBytes)}`
}

const COLUMNS = [
  'swarm', 'median host', 'p99 host', 'last host', 'last / bound', 'p99 host / own bound', 'origin egress (x size)', 'seed egress (x size)',
  'host upload min / median / max (x size)', 'upload fairness (Jain)', 'scheduler decisions per simulated s', 'hosts unfinished', 'wall time', 'events',
] as const

/** One run's table, with its lower bound's terms above it and how the swarms compare below. */
export function runReport(outcome: RunOutcome): string {
  const { scenario, spec } = outcome
  const terms = lowerBoundTerms(scenario)
  const figures = outcome.runs.map((run) => swarmFigures(scenario, run))
  const rows = figures.map((f) => [
    swarmLabel(f.swarm), seconds(f.medianMs), seconds(f.p99Ms), seconds(f.lastMs), ratio(over(f.lastMs, f.boundMs)), ratio(f.ownBoundRatio.p99),
    ratio(f.originEgressShare), ratio(f.seedEgressShare), `${f.upload.min.toFixed(2)} / ${f.upload.median.toFixed(2)} / ${f.upload.max.toFixed(2)}`,
    f.upload.jain.toFixed(3), f.swarm === 'bittorrent' ? '—' : f.decisionsPerSecond.toFixed(0), f.left > 0 ? `${f.unfinished} (${f.left} left)` : String(f.unfinished),
    duration(f.wallMs), count(f.events),
  ])
  const lines = [
    `### ${runTitle(spec)}`,
    '',
    `Lower bound ${seconds(terms.boundMs)} = max(S/u_origin ${seconds(terms.originUploadMs)}, arrival + S/d ${seconds(terms.hostDownloadMs)}, N·S/(u_origin + Σu) ${seconds(terms.aggregateUploadMs)}).`,
    '',
    `| ${COLUMNS.join(' | ')} |`,
    `|---|${COLUMNS.slice(1).map(() => '---:').join('|')}|`,
    ...rows.map((row) => `| ${row.join(' | ')} |`),
  ]
  const damselfly = figures.find((f) => f.swarm === 'damselfly')
  const baseline = figures.find((f) => f.swarm === 'bittorrent')
  if (damselfly?.lastMs !== undefined && baseline?.lastMs !== undefined) {
    lines.push('', `Damselfly's last host / the baseline's: ${ratio(damselfly.lastMs / baseline.lastMs)}.`)
  }
  const byClass = classReport(outcome)
  if (byClass !== undefined) lines.push('', byClass)
  return lines.join('\n')
}

/** One line per run: the bound and each swarm's last host against it, for the section's overview. */
export function summaryTable(outcomes: readonly RunOutcome[], swarms: readonly string[]): string {
  const header = ['scenario', 'N', 'size', 'lower bound', ...swarms.map((swarm) => `${swarm}: last / bound`), ...swarms.map((swarm) => `${swarm}: p99 / own bound`)]
  const rows = outcomes.map((outcome) => {
    const figures = swarms.map((swarm) => {
      const run = outcome.runs.find((each) => each.swarm === swarm)
      return run === undefined ? undefined : swarmFigures(outcome.scenario, run)
    })
    return [
      outcome.spec.scenario, outcome.spec.hosts.toLocaleString('en-US'), formatBytes(outcome.spec.sizeBytes), seconds(lowerBoundTerms(outcome.scenario).boundMs),
      ...figures.map((f) => (f === undefined ? '—' : ratio(over(f.lastMs, f.boundMs)))),
      ...figures.map((f) => (f === undefined ? '—' : ratio(f.ownBoundRatio.p99))),
    ]
  })
  return [`| ${header.join(' | ')} |`, `|---|${header.slice(1).map(() => '---:').join('|')}|`, ...rows.map((row) => `| ${row.join(' | ')} |`)].join('\n')
}
