/**
 * The testbed's figures as markdown: one table per run (N, size, rates), the ratios the project
 * tracks, notes, and the issue's targets. Every sentence is chosen by the figures it states.
 */
import { formatBytes } from '../../src/common/units.js'
import { rateBytesPerSecond, type LowerBound } from './link-rate.js'
import type { RoundResult } from './proving-ground.js'
import { median } from './proving-ground.js'
import { cpuLoadSentence, cpuSecondsPerGiB, lastIncludingStartupMs, originLinkBusyShare, percent, ratioText, roundCpuMs } from './round-figures.js'
import type { ScenarioName } from './scenario.js'

/** A host that uploaded less than this share of the file is counted as not serving others (the ACKs of its own download are far less). */
const IDLE_UPLOAD_SHARE = 0.1
/** Start-up shorter than this (curl's, which starts nothing beforehand) gets no note. */
const STARTUP_WORTH_A_NOTE_MS = 100
const TARGETS = { hosts: 16, sizeBytes: 256 * 1024 ** 2, boundRatio: 1.3, versusBitTorrent: 0.8, originEgress: 1.05 } as const

export interface RunSpec {
  readonly hosts: number
  readonly sizeBytes: number
  readonly hostRate: string
  readonly originRate: string
  readonly repeat: number
}

export interface ScenarioOutcome {
  readonly name: ScenarioName
  /** Every round that completed. */
  readonly rounds: readonly RoundResult[]
  /** Why a round failed, when one did; the scenario's later rounds of this run are skipped. */
  readonly failure?: string
}

export interface RunOutcome {
  readonly spec: RunSpec
  readonly bound: LowerBound
  readonly scenarios: readonly ScenarioOutcome[]
}

const LABELS: Readonly<Record<ScenarioName, string>> = { curl: 'curl from the origin', bittorrent: 'BitTorrent (aria2c)', damselfly: 'Damselfly (dfdaemon)' }

const COLUMNS = [
  'scenario',
  'last host, from running',
  'last host, incl. start-up',
  'median host, from running',
  'last / bound, from running',
  'last / bound, incl. start-up',
  'origin egress (origin link, tc)',
  'host upload min / median / max (x size)',
  'hosts uploading < 0.1x',
  'sha256 ok',
  'CPU-s per GiB, from running',
  'CPU-s per GiB, incl. start-up',
  'machine busy during fetches (own share)',
] as const

/** The round whose last host finished at the median time; undefined when none completed. */
export function representative(rounds: readonly RoundResult[]): RoundResult | undefined {
  const sorted = [...rounds].sort((a, b) => a.lastDoneMs - b.lastDoneMs)
  return sorted[Math.floor((sorted.length - 1) / 2)]
}

/** The representative round of a scenario in a run, if it ran and completed one. */
export function representativeOf(outcome: RunOutcome, name: ScenarioName): RoundResult | undefined {
  return representative(outcome.scenarios.find((scenario) => scenario.name === name)?.rounds ?? [])
}

function cpuPerGiB(cpuMs: number | undefined, spec: RunSpec): string {
  const value = cpuSecondsPerGiB(cpuMs, spec)
  return value === undefined ? 'n/a' : value.toFixed(2)
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`
}

function times(bytes: number, sizeBytes: number): string {
  return `${(bytes / sizeBytes).toFixed(2)}x`
}

function row(outcome: ScenarioOutcome, spec: RunSpec, bound: LowerBound): string {
  const round = representative(outcome.rounds)
  if (round === undefined) return `| ${LABELS[outcome.name]} | failed |${' |'.repeat(COLUMNS.length - 2)}`
  const uploads = [...round.hostUploadBytes].sort((a, b) => a - b)
  const share = (bytes: number): string => (bytes / spec.sizeBytes).toFixed(2)
  const idle = uploads.filter((bytes) => bytes < IDLE_UPLOAD_SHARE * spec.sizeBytes).length
  const busy =
    round.machineBusyShare === undefined
      ? 'n/a'
      : `${percent(round.machineBusyShare)}${round.scenarioBusyShare === undefined ? '' : ` (${percent(round.scenarioBusyShare)})`}`
  const cells = [
    LABELS[outcome.name],
    seconds(round.lastDoneMs),
    seconds(lastIncludingStartupMs(round)),
    seconds(round.medianDoneMs),
    ratioText(round.lastDoneMs, bound.boundMs) ?? 'n/a',
    ratioText(lastIncludingStartupMs(round), bound.boundMs) ?? 'n/a',
    `${formatBytes(round.originLinkBytes)} (${times(round.originLinkBytes, spec.sizeBytes)})`,
    `${share(uploads[0] ?? 0)} / ${share(median(uploads))} / ${share(uploads.at(-1) ?? 0)}`,
    `${idle}/${spec.hosts}`,
    `${round.digestsOk}/${spec.hosts}`,
    cpuPerGiB(round.fetchCpuMs, spec),
    cpuPerGiB(roundCpuMs(round), spec),
    busy,
  ]
  return `| ${cells.join(' | ')} |`
}

function startupSentence(round: RoundResult): string {
  const cpu = round.startupCpuMs === undefined ? '' : `, using ${(round.startupCpuMs / 1000).toFixed(1)} CPU-s`
  const busy = round.startupMachineBusyShare === undefined ? '' : ` with the machine ${percent(round.startupMachineBusyShare)} busy`
  return `start-up (first process started until every one was up and announced) took ${seconds(round.startupMs)}${cpu}${busy}`
}

/** Damselfly's last host over aria2's, both clocks; empty unless both completed a round. */
export function versusBitTorrent(outcome: RunOutcome): string[] {
  const damselfly = representativeOf(outcome, 'damselfly')
  const bittorrent = representativeOf(outcome, 'bittorrent')
  if (damselfly === undefined || bittorrent === undefined) return []
  return [
    `Damselfly's last host / aria2's: ${ratioText(damselfly.lastDoneMs, bittorrent.lastDoneMs)} from running and announced, ` +
      `${ratioText(lastIncludingStartupMs(damselfly), lastIncludingStartupMs(bittorrent))} including start-up.`,
  ]
}

function notes(outcome: RunOutcome, init: { cores: number }): string[] {
  const { spec } = outcome
  const lines: string[] = []
  for (const scenario of outcome.scenarios) {
    const round = representative(scenario.rounds)
    if (scenario.failure !== undefined) lines.push(`- ${LABELS[scenario.name]} failed: ${scenario.failure.split('\n')[0]?.slice(0, 300)}`)
    if (round === undefined) continue
    lines.push(`- ${LABELS[scenario.name]}, upload of each host h1..h${spec.hosts} (x file size): ${round.hostUploadBytes.map((bytes) => (bytes / spec.sizeBytes).toFixed(2)).join(' ')}`)
    const elapsedSeconds = round.lastDoneMs / 1000
    const hostUplinks = round.hostUploadBytes.reduce((sum, bytes) => sum + bytes, 0) / (spec.hosts * rateBytesPerSecond(spec.hostRate) * elapsedSeconds)
    const originUplink = originLinkBusyShare(round, spec)
    lines.push(`  - until the last host was done, the origin's link was ${percent(originUplink)} busy sending and the hosts' uplinks ${percent(hostUplinks)} on average`)
    const load = cpuLoadSentence(round, { cores: init.cores, originLinkShare: originUplink })
    if (load !== undefined) lines.push(`  - ${load}`)
    if (round.startupMs >= STARTUP_WORTH_A_NOTE_MS) lines.push(`  - ${startupSentence(round)}`)
    lines.push(`  - the HTTP origin's own count of body bytes sent: ${formatBytes(round.originBodyBytes)} (${times(round.originBodyBytes, spec.sizeBytes)})`)
    if (round.seedUploadBytes !== undefined) {
      lines.push(`  - seed daemon uploaded ${formatBytes(round.seedUploadBytes)} (${times(round.seedUploadBytes, spec.sizeBytes)}), by its own counter; the hosts' daemons fetched ${formatBytes(round.hostBackToSourceBytes ?? 0)} from the origin themselves`)
    }
    if (scenario.rounds.length > 1) lines.push(`  - last host in each of ${scenario.rounds.length} rounds: ${scenario.rounds.map((each) => seconds(each.lastDoneMs)).join(', ')} (the table shows the median round)`)
  }
  return lines
}

function targets(outcome: RunOutcome): string[] {
  const { spec } = outcome
  if (spec.hosts !== TARGETS.hosts || spec.sizeBytes !== TARGETS.sizeBytes || spec.hostRate !== spec.originRate) return []
  const damselfly = representativeOf(outcome, 'damselfly')
  const bittorrent = representativeOf(outcome, 'bittorrent')
  if (damselfly === undefined) return []
  const verdict = (value: number, limit: number): string => (value <= limit ? 'met' : 'missed')
  const boundRatio = damselfly.lastDoneMs / outcome.bound.boundMs
  const egress = damselfly.originLinkBytes / spec.sizeBytes
  return [
    '',
    '| target (N=16, 256 MiB, equal rates; times from running and announced) | measured | limit | result |',
    '|---|---:|---:|---|',
    `| Damselfly's last host / lower bound | ${boundRatio.toFixed(2)}x | ≤ ${TARGETS.boundRatio}x | ${verdict(boundRatio, TARGETS.boundRatio)} |`,
    ...(bittorrent === undefined
      ? []
      : [`| Damselfly's last host / aria2's | ${(damselfly.lastDoneMs / bittorrent.lastDoneMs).toFixed(2)}x | ≤ ${TARGETS.versusBitTorrent}x | ${verdict(damselfly.lastDoneMs / bittorrent.lastDoneMs, TARGETS.versusBitTorrent)} |`]),
    `| Damselfly's origin egress (origin link, tc, frame headers included) / file size | ${egress.toFixed(2)}x | ≤ ${TARGETS.originEgress}x | ${verdict(egress, TARGETS.originEgress)} |`,
  ]
}

/**
 * The markdown of one run: heading, lower bound, table, Damselfly against aria2, notes and, for
 * the target run, the targets. `cores` is the machine's, for the load sentences.
 */
export function runReport(outcome: RunOutcome, init: { cores: number }): string {
  const { spec, bound } = outcome
  const ratios = versusBitTorrent(outcome)
  return [
    `### ${spec.hosts} hosts × ${formatBytes(spec.sizeBytes)}, host links ${spec.hostRate}, origin link ${spec.originRate}${spec.repeat > 1 ? `, median of ${spec.repeat} rounds` : ''}`,
    '',
    `Lower bound ${seconds(bound.boundMs)} = max(S/u_origin ${seconds(bound.originUploadMs)}, S/d_host ${seconds(bound.hostDownloadMs)}, N·S/(u_origin + N·u_host) ${seconds(bound.aggregateUploadMs)}).`,
    '',
    `| ${COLUMNS.join(' | ')} |`,
    `|---|${'---:|'.repeat(COLUMNS.length - 1)}`,
    ...outcome.scenarios.map((scenario) => row(scenario, spec, bound)),
    '',
    ...(ratios.length === 0 ? [] : [...ratios, '']),
    ...notes(outcome, init),
    ...targets(outcome),
  ].join('\n')
}
