/**
 * The data-path bench's figures from its samples: medians over rounds per scenario and process,
 * the ratios the targets use, and each target measured against its bound.
 */
import { availableParallelism } from 'node:os'
import { formatBytes } from '../../src/common/units.js'
import type { MemorySample } from './data-path-memory.js'
import { ROLES, type ScenarioName, type ScenarioSample } from './data-path-scenarios.js'

export const GiB = 1024 ** 3
export const MiB = 1024 ** 2

/** The medians of one process over the rounds of a scenario. */
export interface RoleSummary {
  readonly role: string
  readonly cpuMs: number
  readonly peakRssBytes: number
  /** Undefined for the client, which started within the window. */
  readonly openingRssBytes: number | undefined
  /** False when any round could only read the process's lifetime peak. */
  readonly peakCoversWindowOnly: boolean
}

/** The medians of one scenario over its rounds. */
export interface ScenarioSummary {
  readonly scenario: ScenarioName
  readonly rounds: number
  /** Until the client had the whole file (see ScenarioSample). */
  readonly elapsedMs: number
  /** Until the client exited. */
  readonly exitMs: number
  /** Median of each round's sum over every process. */
  readonly totalCpuMs: number
  readonly roles: readonly RoleSummary[]
  /**
   * Median share of the machine's CPU (wall time times cores) used by processes other than the
   * scenario's and this bench's during the window; undefined without /proc/stat.
   */
  readonly otherLoadShare: number | undefined
  /** Largest amount by which the processes' CPU time exceeded the machine's busy time in a round, in ms. */
  readonly cpuOverMachineMs: number
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2
}

function sum(values: readonly number[]): number {
  return values.reduce((total, value) => total + value, 0)
}

/** Medians per scenario, in the order the scenarios first appear in `samples`. */
export function summarize(samples: readonly ScenarioSample[]): ScenarioSummary[] {
  const byScenario = new Map<ScenarioName, ScenarioSample[]>()
  for (const sample of samples) byScenario.set(sample.scenario, [...(byScenario.get(sample.scenario) ?? []), sample])
  return [...byScenario].map(([scenario, rounds]) => {
    const roleNames = rounds[0]!.usages.map((usage) => usage.role)
    const roles = roleNames.map((role) => {
      const usages = rounds.flatMap((round) => round.usages.filter((usage) => usage.role === role))
      return {
        role,
        cpuMs: median(usages.map((usage) => usage.cpuMs)),
        peakRssBytes: median(usages.map((usage) => usage.peakRssBytes)),
        openingRssBytes: usages.some((usage) => usage.openingRssBytes === undefined) ? undefined : median(usages.map((usage) => usage.openingRssBytes ?? 0)),
        peakCoversWindowOnly: usages.every((usage) => usage.peakCoversWindowOnly),
      }
    })
    const others = rounds.flatMap((round) => {
      if (round.machineBusyMs === undefined) return []
      const ours = sum(round.usages.map((usage) => usage.cpuMs)) + round.benchCpuMs
      return [Math.max(0, round.machineBusyMs - ours) / (round.windowMs * availableParallelism())]
    })
    const over = rounds.map((round) => (round.machineBusyMs === undefined ? 0 : sum(round.usages.map((usage) => usage.cpuMs)) - round.machineBusyMs))
    return {
      scenario,
      rounds: rounds.length,
      elapsedMs: median(rounds.map((round) => round.elapsedMs)),
      exitMs: median(rounds.map((round) => round.exitMs)),
      totalCpuMs: median(rounds.map((round) => sum(round.usages.map((usage) => usage.cpuMs)))),
      roles,
      otherLoadShare: others.length === 0 ? undefined : median(others),
      cpuOverMachineMs: Math.max(0, ...over),
    }
  })
}

/** CPU-seconds per GiB of the file. */
export function cpuSecondsPerGiB(cpuMs: number, sizeBytes: number): number {
  return cpuMs / 1000 / (sizeBytes / GiB)
}

export function throughputMiBPerSecond(sizeBytes: number, elapsedMs: number): number {
  return sizeBytes / MiB / (elapsedMs / 1000)
}

/** One named ratio; undefined when a scenario it needs was not run or its divisor is 0. */
export interface Ratio {
  readonly label: string
  readonly value: number | undefined
}

/** The figures the ratios and targets are built from; undefined where a scenario was not run. */
export interface KeyFigures {
  readonly childCpuMs: { readonly tls: number | undefined; readonly plain: number | undefined }
  readonly parentCpuMs: { readonly tls: number | undefined; readonly plain: number | undefined }
  readonly leecherCpuMs: number | undefined
  readonly seederCpuMs: number | undefined
  readonly elapsedMs: Readonly<Partial<Record<ScenarioName, number>>>
}

function roleCpuMs(summaries: readonly ScenarioSummary[], scenario: ScenarioName, role: string): number | undefined {
  return summaries.find((summary) => summary.scenario === scenario)?.roles.find((candidate) => candidate.role === role)?.cpuMs
}

export function keyFigures(summaries: readonly ScenarioSummary[]): KeyFigures {
  return {
    childCpuMs: { tls: roleCpuMs(summaries, 'p2p-tls', ROLES.child), plain: roleCpuMs(summaries, 'p2p-plain', ROLES.child) },
    parentCpuMs: { tls: roleCpuMs(summaries, 'p2p-tls', ROLES.parent), plain: roleCpuMs(summaries, 'p2p-plain', ROLES.parent) },
    leecherCpuMs: roleCpuMs(summaries, 'aria2', ROLES.leecher),
    seederCpuMs: roleCpuMs(summaries, 'aria2', ROLES.seeder),
    elapsedMs: Object.fromEntries(summaries.map((summary) => [summary.scenario, summary.elapsedMs])),
  }
}

export function divide(top: number | undefined, bottom: number | undefined): number | undefined {
  return top === undefined || bottom === undefined || bottom === 0 ? undefined : top / bottom
}

/** The ratios of the report, each a quotient of two medians. */
export function ratios(figures: KeyFigures): Ratio[] {
  const { childCpuMs, parentCpuMs, leecherCpuMs, seederCpuMs, elapsedMs } = figures
  // Throughput is the file over the time, so a throughput ratio is the inverse time ratio.
  const faster = (scenario: ScenarioName, than: ScenarioName): number | undefined => divide(elapsedMs[than], elapsedMs[scenario])
  return [
    { label: 'child daemon CPU/GiB ÷ aria2c leecher\'s, TLS off', value: divide(childCpuMs.plain, leecherCpuMs) },
    { label: 'child daemon CPU/GiB ÷ aria2c leecher\'s, TLS on', value: divide(childCpuMs.tls, leecherCpuMs) },
    { label: 'parent daemon CPU/GiB ÷ aria2c seeder\'s, TLS off', value: divide(parentCpuMs.plain, seederCpuMs) },
    { label: 'parent daemon CPU/GiB ÷ aria2c seeder\'s, TLS on', value: divide(parentCpuMs.tls, seederCpuMs) },
    { label: 'throughput, P2P TLS off ÷ aria2c', value: faster('p2p-plain', 'aria2') },
    { label: 'throughput, P2P TLS on ÷ aria2c', value: faster('p2p-tls', 'aria2') },
    { label: 'throughput, P2P TLS on ÷ curl from the origin', value: faster('p2p-tls', 'curl') },
    { label: 'throughput, dfget back-to-source ÷ curl from the origin', value: faster('dfget-source', 'curl') },
    { label: 'cost of TLS: child daemon CPU/GiB, on ÷ off', value: divide(childCpuMs.tls, childCpuMs.plain) },
    { label: 'cost of TLS: parent daemon CPU/GiB, on ÷ off', value: divide(parentCpuMs.tls, parentCpuMs.plain) },
    { label: 'cost of TLS: throughput, on ÷ off', value: faster('p2p-tls', 'p2p-plain') },
  ]
}

/** One of the data path's targets, measured. */
export interface TargetCheck {
  readonly label: string
  /** The measured value as text, or undefined when not measured. */
  readonly measured: string | undefined
  readonly bound: string
  /** Undefined when not measured. */
  readonly met: boolean | undefined
  /** Why the figure is not quite the target's own (another file size), if it is not. */
  readonly caveat: string | undefined
}

const TARGET_SIZE_BYTES = GiB
const MEMORY_TARGET_SIZE_BYTES = 4 * GiB
/** Piece lengths the memory target speaks of. */
const MEMORY_TARGET_PIECE_BYTES = { min: MiB, max: 64 * MiB } as const

function ratioTarget(label: string, value: number | undefined, bound: number): TargetCheck {
  return { label, measured: value === undefined ? undefined : `${value.toFixed(2)}x`, bound: `≤ ${bound.toFixed(1)}x`, met: value === undefined ? undefined : value <= bound, caveat: undefined }
}

/** The data path's targets against this run's medians and memory samples. */
export function targetChecks(figures: KeyFigures, sizeBytes: number, memory: readonly MemorySample[], memorySizeBytes: number | undefined): TargetCheck[] {
  const sizeCaveat = sizeBytes === TARGET_SIZE_BYTES ? undefined : `measured with a ${formatBytes(sizeBytes)} file; the target is for 1 GiB`
  const throughput = (label: string, scenario: ScenarioName): TargetCheck => {
    const elapsedMs = figures.elapsedMs[scenario]
    const value = elapsedMs === undefined ? undefined : throughputMiBPerSecond(sizeBytes, elapsedMs)
    return { label, measured: value === undefined ? undefined : `${value.toFixed(0)} MiB/s`, bound: '≥ 500 MiB/s', met: value === undefined ? undefined : value >= 500, caveat: sizeCaveat }
  }
  const inRange = memory.filter((sample) => sample.pieceLengthBytes >= MEMORY_TARGET_PIECE_BYTES.min && sample.pieceLengthBytes <= MEMORY_TARGET_PIECE_BYTES.max)
  const peaks = inRange.flatMap((sample) => [sample.seedSourcePeakRssBytes, sample.seedServing.peakRssBytes, sample.child.peakRssBytes])
  const peak = peaks.length === 0 ? undefined : Math.max(...peaks)
  return [
    ratioTarget('child daemon CPU/GiB ÷ aria2c leecher\'s, TLS off', divide(figures.childCpuMs.plain, figures.leecherCpuMs), 1.0),
    ratioTarget('child daemon CPU/GiB ÷ aria2c leecher\'s, TLS on', divide(figures.childCpuMs.tls, figures.leecherCpuMs), 1.5),
    ratioTarget('parent daemon CPU/GiB ÷ aria2c seeder\'s (TLS off, as aria2c)', divide(figures.parentCpuMs.plain, figures.seederCpuMs), 1.0),
    throughput('one parent → one child, TLS on', 'p2p-tls'),
    throughput('one parent → one child, TLS off', 'p2p-plain'),
    {
      label: 'daemon peak RSS downloading a 4 GiB file, any piece length 1..64 MiB',
      measured: peak === undefined ? undefined : `${(peak / MiB).toFixed(1)} MiB`,
      bound: '≤ 80 MiB',
      met: peak === undefined ? undefined : peak <= 80 * MiB,
      caveat: memorySizeBytes === undefined || memorySizeBytes === MEMORY_TARGET_SIZE_BYTES ? undefined : `measured with a ${formatBytes(memorySizeBytes)} file; the target is for 4 GiB`,
    },
  ]
}
