/**
 * The data-path bench's markdown: the scenario, per-process, ratio, target and memory tables, and
 * the observations, each sentence derived from the run's own figures.
 */
import { formatBytes } from '../../src/common/units.js'
import type { MemorySample } from './data-path-memory.js'
import type { ScenarioName } from './data-path-scenarios.js'
import { cpuSecondsPerGiB, MiB, throughputMiBPerSecond, type Ratio, type ScenarioSummary, type TargetCheck } from './data-path-summary.js'

export const SCENARIO_LABELS: Record<ScenarioName, string> = {
  'curl': 'curl from the origin',
  'aria2': 'aria2c seeder → aria2c leecher (opentracker)',
  'dfget-source': 'dfget, back-to-source, cold daemon',
  'p2p-tls': 'dfget, warm seed → child, TLS on (default)',
  'p2p-plain': 'dfget, warm seed → child, TLS off (`upload.server.tls: false`)',
}

/** The share of the machine others used above which a scenario's figures are called out. */
const OTHER_LOAD_SHARE = 0.15
/** Growth of the highest daemon peak, across a memory setting's range, up to which memory is called flat. */
const FLAT_MEMORY_GROWTH_BYTES = 16 * MiB

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(2)} s`
}

function mebibytes(bytes: number): string {
  return `${(bytes / MiB).toFixed(1)} MiB`
}

function peakCell(bytes: number, windowOnly: boolean): string {
  return windowOnly ? mebibytes(bytes) : `${mebibytes(bytes)} (lifetime)`
}

export function scenarioTable(summaries: readonly ScenarioSummary[], sizeBytes: number): string {
  return [
    '| scenario | time to the whole file | time to the client\'s exit | throughput | CPU-s/GiB, all its processes | rounds | other load on the machine |',
    '|---|---:|---:|---:|---:|---:|---:|',
    ...summaries.map((summary) => `| ${[
      SCENARIO_LABELS[summary.scenario],
      seconds(summary.elapsedMs),
      seconds(summary.exitMs),
      `${throughputMiBPerSecond(sizeBytes, summary.elapsedMs).toFixed(0)} MiB/s`,
      cpuSecondsPerGiB(summary.totalCpuMs, sizeBytes).toFixed(2),
      String(summary.rounds),
      summary.otherLoadShare === undefined ? '?' : `${(summary.otherLoadShare * 100).toFixed(0)}%`,
    ].join(' | ')} |`),
  ].join('\n')
}

export function processTable(summaries: readonly ScenarioSummary[], sizeBytes: number): string {
  return [
    '| scenario | process | CPU-s/GiB | RSS as the window opened | peak RSS |',
    '|---|---|---:|---:|---:|',
    ...summaries.flatMap((summary) => summary.roles.map((role) => `| ${[
      summary.scenario,
      role.role,
      cpuSecondsPerGiB(role.cpuMs, sizeBytes).toFixed(3),
      role.openingRssBytes === undefined ? '(started in it)' : mebibytes(role.openingRssBytes),
      peakCell(role.peakRssBytes, role.peakCoversWindowOnly),
    ].join(' | ')} |`)),
  ].join('\n')
}

export function ratioTable(list: readonly Ratio[]): string {
  return [
    '| ratio | value |',
    '|---|---:|',
    ...list.map((ratio) => `| ${ratio.label} | ${ratio.value === undefined ? '–' : `${ratio.value.toFixed(2)}x`} |`),
  ].join('\n')
}

function verdict(check: TargetCheck): string {
  if (check.met === undefined) return 'not measured'
  return `${check.met ? 'met' : 'missed'}${check.caveat === undefined ? '' : ` (${check.caveat})`}`
}

export function targetTable(checks: readonly TargetCheck[]): string {
  return [
    '| target | measured | bound | verdict |',
    '|---|---:|---:|---|',
    ...checks.map((check) => `| ${check.label} | ${check.measured ?? '–'} | ${check.bound} | ${verdict(check)} |`),
  ].join('\n')
}

export function memoryTable(samples: readonly MemorySample[], sizeBytes: number): string {
  return [
    '| piece length | pieces at once | child time | throughput | seed peak RSS, fetching from the origin | seed peak RSS, serving the child | child RSS before its download | child peak RSS | child CPU-s/GiB | seed CPU-s/GiB, serving |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...samples.map((sample) => `| ${[
      formatBytes(sample.pieceLengthBytes),
      String(sample.concurrentPieceCount),
      seconds(sample.elapsedMs),
      `${throughputMiBPerSecond(sizeBytes, sample.elapsedMs).toFixed(0)} MiB/s`,
      `${mebibytes(sample.seedSourcePeakRssBytes)} (lifetime)`,
      peakCell(sample.seedServing.peakRssBytes, sample.seedServing.peakCoversWindowOnly),
      sample.child.openingRssBytes === undefined ? '?' : mebibytes(sample.child.openingRssBytes),
      peakCell(sample.child.peakRssBytes, sample.child.peakCoversWindowOnly),
      cpuSecondsPerGiB(sample.child.cpuMs, sizeBytes).toFixed(2),
      cpuSecondsPerGiB(sample.seedServing.cpuMs, sizeBytes).toFixed(2),
    ].join(' | ')} |`),
  ].join('\n')
}

/**
 * Where each daemon's memory went, per memory run: the seed's while it fetched the file from the
 * origin, the child's while it downloaded it from the seed.
 */
export function memoryBreakdownTable(samples: readonly MemorySample[]): string {
  const rows = samples.flatMap((sample) => [
    { sample, daemon: 'seed, fetching from the origin', peakRssBytes: sample.seedSourcePeakRssBytes, breakdown: sample.seedSource },
    { sample, daemon: 'child, downloading', peakRssBytes: sample.child.peakRssBytes, breakdown: sample.childDownload },
  ])
  return [
    '| piece length | pieces at once | daemon | peak RSS | of it mapped from files (node and its libraries) | V8 heap committed, peak | Buffers outside the V8 heap, peak |',
    '|---:|---:|---|---:|---:|---:|---:|',
    ...rows.map(({ sample, daemon, peakRssBytes, breakdown }) => `| ${[
      formatBytes(sample.pieceLengthBytes),
      String(sample.concurrentPieceCount),
      daemon,
      mebibytes(peakRssBytes),
      mebibytes(breakdown.fileBackedBytes),
      mebibytes(breakdown.peakHeapBytes),
      mebibytes(breakdown.peakExternalBytes),
    ].join(' | ')} |`),
  ].join('\n')
}

function targetNotes(checks: readonly TargetCheck[]): string[] {
  const measured = checks.filter((check) => check.met !== undefined)
  if (measured.length === 0) return ['No target was measured in this run.']
  const missed = measured.filter((check) => check.met === false)
  const listed = missed.map((check) => `${check.label} (${check.measured}, bound ${check.bound})`).join('; ')
  const notes: string[] = []
  if (measured.length === 1) notes.push(missed.length === 0 ? 'The one target measured in this run was met.' : `The one target measured in this run was missed: ${listed}.`)
  else notes.push(missed.length === 0 ? `All ${measured.length} targets measured in this run were met.` : `Missed ${missed.length} of the ${measured.length} targets measured: ${listed}.`)
  const caveats = measured.filter((check) => check.caveat !== undefined).length
  if (caveats > 0) {
    const which = measured.length === 1 ? 'It was' : caveats === measured.length ? 'All of them were' : caveats === 1 ? 'One of them was' : `${caveats} of them were`
    notes.push(`${which} measured at another file size than the target's, so ${caveats === 1 ? 'its verdict only indicates' : 'their verdicts only indicate'}.`)
  }
  const unmeasured = checks.length - measured.length
  if (unmeasured > 0) notes.push(`${unmeasured} of the ${checks.length} targets ${unmeasured === 1 ? 'was' : 'were'} not measured: the scenarios or runs ${unmeasured === 1 ? 'it needs' : 'they need'} were left out or failed.`)
  return notes
}

function loadNotes(summaries: readonly ScenarioSummary[]): string[] {
  const loaded = summaries.filter((summary) => summary.otherLoadShare !== undefined && summary.otherLoadShare > OTHER_LOAD_SHARE)
  const busy = loaded.length === 0 ? [] : [
    `Processes outside the bench used more than ${(OTHER_LOAD_SHARE * 100).toFixed(0)}% of the machine's CPU (median over rounds) during ${loaded.map((summary) => `${summary.scenario} (${((summary.otherLoadShare ?? 0) * 100).toFixed(0)}%)`).join(', ')}: there, times and throughputs are less trustworthy than CPU-seconds.`,
  ]
  return [...busy, ...summaries.flatMap((summary) => {
    const notes: string[] = []
    if (summary.cpuOverMachineMs > 50) {
      notes.push(`During "${SCENARIO_LABELS[summary.scenario]}", the processes' own CPU times added up to ${seconds(summary.cpuOverMachineMs)} more than the machine was busy in a round: the /proc readings are inconsistent there.`)
    }
    const lifetime = summary.roles.filter((role) => !role.peakCoversWindowOnly).map((role) => role.role)
    if (lifetime.length > 0) notes.push(`In "${SCENARIO_LABELS[summary.scenario]}", the kernel refused to reset the peak RSS of ${lifetime.join(', ')}: those peaks are the processes' lifetime peaks.`)
    return notes
  })]
}

function highestPeak(sample: MemorySample): number {
  return Math.max(sample.child.peakRssBytes, sample.seedServing.peakRssBytes, sample.seedSourcePeakRssBytes)
}

/**
 * How the highest daemon peak changed from the smallest to the largest value of one setting (the
 * highest over the other setting's values on each side); undefined when the run had one value.
 */
function growth(samples: readonly MemorySample[], setting: (sample: MemorySample) => number): { from: number; to: number; changeBytes: number } | undefined {
  const values = [...new Set(samples.map(setting))].sort((a, b) => a - b)
  if (values.length < 2) return undefined
  const peakAt = (value: number): number => Math.max(...samples.filter((sample) => setting(sample) === value).map(highestPeak))
  const from = values[0]!
  const to = values[values.length - 1]!
  return { from, to, changeBytes: peakAt(to) - peakAt(from) }
}

function signedMebibytes(bytes: number): string {
  return `${bytes >= 0 ? '+' : '−'}${mebibytes(Math.abs(bytes))}`
}

function memoryNotes(samples: readonly MemorySample[]): string[] {
  if (samples.length === 0) return []
  const peaks = samples.map(highestPeak)
  const notes = [`Across the memory runs the highest daemon peak RSS ranged from ${mebibytes(Math.min(...peaks))} to ${mebibytes(Math.max(...peaks))}.`]
  const byLength = growth(samples, (sample) => sample.pieceLengthBytes)
  const byConcurrency = growth(samples, (sample) => sample.concurrentPieceCount)
  if (byLength !== undefined) notes.push(`From ${formatBytes(byLength.from)} to ${formatBytes(byLength.to)} pieces, it changed by ${signedMebibytes(byLength.changeBytes)}, while a piece grew by ${mebibytes(byLength.to - byLength.from)}.`)
  if (byConcurrency !== undefined) notes.push(`From ${byConcurrency.from} to ${byConcurrency.to} pieces at once, it changed by ${signedMebibytes(byConcurrency.changeBytes)}.`)
  const grew = [
    ...(byLength !== undefined && byLength.changeBytes > FLAT_MEMORY_GROWTH_BYTES ? ['piece length'] : []),
    ...(byConcurrency !== undefined && byConcurrency.changeBytes > FLAT_MEMORY_GROWTH_BYTES ? ['concurrency'] : []),
  ]
  const compared = [...(byLength === undefined ? [] : ['piece length']), ...(byConcurrency === undefined ? [] : ['concurrency'])]
  if (compared.length === 0) return notes
  notes.push(grew.length === 0
    ? `Memory did not grow with ${compared.join(' or ')} by more than ${mebibytes(FLAT_MEMORY_GROWTH_BYTES)}.`
    : `Memory grew with ${grew.join(' and ')} by more than ${mebibytes(FLAT_MEMORY_GROWTH_BYTES)}.`)
  return notes
}

/** Every observation worth a sentence, each derived from the figures. */
export function observations(summaries: readonly ScenarioSummary[], checks: readonly TargetCheck[], memory: readonly MemorySample[]): string[] {
  return [...targetNotes(checks), ...loadNotes(summaries), ...memoryNotes(memory)]
}
