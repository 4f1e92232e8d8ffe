/**
 * The simulator against the testbed: the testbed's own scenario (testbedLike: N hosts and the
 * origin on one tc rate, the seed peer beside the origin) run for each N and swarm the testbed
 * measured, and each simulated time set against the measured one (testbed-figures.json).
 */
import { readFile } from 'node:fs/promises'
import { z } from 'zod'
import { formatBytes } from '../../src/common/units.js'
import { percentile, ratio, seconds, swarmFigures, swarmLabel, type SwarmRun } from './report.js'
import { testbedLike, type Scenario } from './scenario.js'

/** The bar: a simulated time within this share of the measured one. */
export const VALIDATION_TOLERANCE = 0.15

const figuresSchema = z.object({
  provenance: z.object({ command: z.string().min(1), measuredAt: z.string().min(1), machine: z.string().min(1), notes: z.string() }),
  sizeBytes: z.number().int().positive(),
  /** Every link's tc rate, as the testbed's `--host-rate` wrote it. */
  rate: z.string().min(1),
  figures: z.array(z.object({
    swarm: z.string().min(1),
    hosts: z.number().int().positive(),
    lastHostMs: z.number().positive(),
    medianHostMs: z.number().positive(),
    lastHostRoundsMs: z.array(z.number().positive()),
    hostUpload: z.object({ min: z.number(), median: z.number(), max: z.number() }),
    machineBusyShare: z.number().min(0).max(1),
  })).min(1),
})

export type TestbedFigures = z.output<typeof figuresSchema>
export type MeasuredRun = TestbedFigures['figures'][number]

export const TESTBED_FIGURES_PATH = new URL('./testbed-figures.json', import.meta.url)

export async function readTestbedFigures(path: URL = TESTBED_FIGURES_PATH): Promise<TestbedFigures> {
  return figuresSchema.parse(JSON.parse(await readFile(path, 'utf8')))
}

/** The simulated counterpart of a measured run. */
export function validationScenario(figures: TestbedFigures, hosts: number, seed: number): Scenario {
  return testbedLike({ hosts, sizeBytes: figures.sizeBytes, rate: figures.rate, seed })
}

export interface ValidationRow {
  readonly measured: MeasuredRun
  readonly run: SwarmRun
  readonly scenario: Scenario
}

function within(simulated: number | undefined, measured: number): boolean {
  return simulated !== undefined && Math.abs(simulated / measured - 1) <= VALIDATION_TOLERANCE
}

/** The comparison table: per N and swarm, simulated and measured last and median host, their ratio and the verdict. */
export function validationTable(rows: readonly ValidationRow[]): string {
  const header = [
    'swarm', 'N', 'measured last host', 'simulated last host', 'simulated / measured', 'measured median host', 'simulated median host', 'simulated / measured',
    'within 15%', 'host upload min / median / max (x size), measured', 'simulated', 'machine busy (measured run)',
  ]
  const lines = rows.map(({ measured, run, scenario }) => {
    const figures = swarmFigures(scenario, run)
    const uploads = run.result.hosts.filter((host) => !host.seed).map((host) => host.uploadedBytes / measuredSize(scenario)).sort((a, b) => a - b)
    const verdict = within(figures.lastMs, measured.lastHostMs) && within(figures.medianMs, measured.medianHostMs) ? 'yes' : 'no'
    return [
      swarmLabel(measured.swarm), String(measured.hosts), seconds(measured.lastHostMs), seconds(figures.lastMs), ratio(figures.lastMs === undefined ? undefined : figures.lastMs / measured.lastHostMs),
      seconds(measured.medianHostMs), seconds(figures.medianMs), ratio(figures.medianMs === undefined ? undefined : figures.medianMs / measured.medianHostMs), verdict,
      `${measured.hostUpload.min.toFixed(2)} / ${measured.hostUpload.median.toFixed(2)} / ${measured.hostUpload.max.toFixed(2)}`,
      `${(uploads[0] ?? 0).toFixed(2)} / ${(percentile(uploads, 0.5) ?? 0).toFixed(2)} / ${(uploads.at(-1) ?? 0).toFixed(2)}`,
      `${Math.round(measured.machineBusyShare * 100)}%`,
    ]
  })
  return [`| ${header.join(' | ')} |`, `|---|${header.slice(1).map(() => '---:').join('|')}|`, ...lines.map((line) => `| ${line.join(' | ')} |`)].join('\n')
}

function measuredSize(scenario: Scenario): number {
  return scenario.tasks.reduce((sum, task) => sum + task.sizeBytes, 0)
}

/** One line on what was compared, for the section. */
export function validationSubject(figures: TestbedFigures): string {
  return `N hosts × ${formatBytes(figures.sizeBytes)}, every link at ${figures.rate}, measured ${figures.provenance.measuredAt} with \`${figures.provenance.command}\` on ${figures.provenance.machine}`
}
