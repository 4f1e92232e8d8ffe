/**
 * The swarm simulator's bench: the scenarios at N = 100, 1,000 and 10,000 hosts, each run
 * by Damselfly (the real scheduler) and the BitTorrent-like baseline on identical simulated links;
 * or, with --validate, the testbed's scenario set against the testbed's measured figures. Prints a
 * markdown table per run and writes a section of docs/benchmarks.md with a chart (run-options.ts).
 */
import { writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { formatBytes } from '../../src/common/units.js'
import { machineLine, replaceSection } from '../support/benchmarks-doc.js'
import { lineChartSvg, type ChartPanel } from '../testbed/chart.js'
import { docSection, validationSection, type DocContext } from './doc-section.js'
import { runReport, swarmFigures, type RunOutcome, type SwarmRun } from './report.js'
import { CHART_FILE, parseOptions, type RunSpec, type SimOptions } from './run-options.js'
import { buildScenario, type SwarmName } from './scenario-catalog.js'
import { simulate, simulateApart, simulateJob, wallText } from './simulate.js'
import { readTestbedFigures, validationScenario, type ValidationRow } from './validation.js'

const SECTION = 'swarm-sim'
const VALIDATION_SECTION = 'swarm-sim: validation against the testbed'
const COLORS: Readonly<Record<SwarmName, string>> = { damselfly: '#2ca02c', bittorrent: '#1f77b4' }

function chart(outcomes: readonly RunOutcome[], swarms: readonly SwarmName[]): string {
  // The chart shows equal links when the run has them: the targets are stated there.
  const plotted = outcomes.some((outcome) => outcome.spec.scenario === 'equal-links') ? outcomes.filter((outcome) => outcome.spec.scenario === 'equal-links') : outcomes
  const scenarioName = plotted[0]?.spec.scenario ?? ''
  const sizes = [...new Set(plotted.map((outcome) => outcome.spec.sizeBytes))].sort((a, b) => a - b)
  const panels: ChartPanel[] = sizes.map((sizeBytes) => {
    const runs = plotted.filter((outcome) => outcome.spec.sizeBytes === sizeBytes && outcome.spec.scenario === scenarioName)
    return {
      title: `${scenarioName}, ${formatBytes(sizeBytes)}`,
      series: [
        ...swarms.map((swarm) => ({
          name: swarm,
          color: COLORS[swarm],
          points: runs.flatMap((outcome) => {
            const run = outcome.runs.find((each) => each.swarm === swarm)
            const figures = run === undefined ? undefined : swarmFigures(outcome.scenario, run)
            return figures?.lastMs === undefined ? [] : [{ hosts: outcome.spec.hosts, value: figures.lastMs / figures.boundMs }]
          }),
        })),
        { name: 'lower bound', color: '#555555', dashed: true, points: runs.map((outcome) => ({ hosts: outcome.spec.hosts, value: 1 })) },
      ],
    }
  })
  return lineChartSvg(panels, { title: 'Swarm simulator: last host over the lower bound', axis: { label: 'last host / lower bound (log scale)', unit: 'x' } })
}

/**
 * Every swarm's run of every spec: one after the other here, or with `--jobs` above 1 that many
 * at once, each in a process of its own, the costliest first. Each spec's tables print as soon as
 * its runs are done; the outcomes come back in the matrix's order.
 */
async function runMatrix(options: SimOptions): Promise<RunOutcome[]> {
  const jobs = options.runs.flatMap((spec, index) => options.swarms.map((swarm) => ({
    index,
    job: { spec, swarm, seed: options.seed, schedulerSettings: options.schedulerSettings, daemonSettings: options.daemonSettings, label: `${spec.scenario} N=${spec.hosts} ${formatBytes(spec.sizeBytes)} ${swarm}` },
  })))
  if (options.jobs > 1) jobs.sort((a, b) => cost(b.job.spec, b.job.swarm) - cost(a.job.spec, a.job.swarm))
  const runs = options.runs.map((): Array<SwarmRun | undefined> => options.swarms.map(() => undefined))
  const outcomes: Array<RunOutcome | undefined> = options.runs.map(() => undefined)
  let next = 0
  const worker = async (): Promise<void> => {
    for (let taken = jobs[next++]; taken !== undefined; taken = jobs[next++]) {
      const { index, job } = taken
      console.error(`${job.label}: running`)
      const run = options.jobs > 1 ? await simulateApart(job) : await simulateJob(job)
      console.error(`${job.label}: done in ${wallText(run.wallMs)} (${(run.result.events / 1e6).toFixed(1)} M events)`)
      const specRuns = runs[index] ?? []
      specRuns[options.swarms.indexOf(job.swarm)] = run
      if (specRuns.every((each) => each !== undefined)) {
        const spec = options.runs[index] ?? job.spec
        const outcome = { spec, scenario: buildScenario(spec.scenario, { hosts: spec.hosts, sizeBytes: spec.sizeBytes, seed: options.seed }), runs: specRuns }
        outcomes[index] = outcome
        console.log(`${runReport(outcome)}\n`)
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(options.jobs, jobs.length) }, worker))
  return outcomes.filter((outcome): outcome is RunOutcome => outcome !== undefined)
}

/** A run's rough cost, to start the longest first: hosts times pieces, Damselfly's runs several times the baseline's. */
function cost(spec: RunSpec, swarm: SwarmName): number {
  return spec.hosts * spec.sizeBytes * (swarm === 'damselfly' ? 4 : 1)
}

async function runValidation(options: SimOptions): Promise<{ rows: ValidationRow[]; section: (context: DocContext) => string }> {
  const figures = await readTestbedFigures()
  const rows: ValidationRow[] = []
  for (const measured of figures.figures) {
    if (!(options.swarms as readonly string[]).includes(measured.swarm)) continue
    const scenario = validationScenario(figures, measured.hosts, options.seed)
    const label = `testbed-like N=${measured.hosts} ${measured.swarm}`
    console.error(`${label}: running`)
    rows.push({ measured, scenario, run: await simulate(scenario, measured.swarm as SwarmName, options, label) })
  }
  return { rows, section: (context) => validationSection(rows, figures, context) }
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2))
  const startedMs = performance.now()
  const context = (): DocContext => ({
    args: process.argv.slice(2), measuredAt: new Date(), machine: machineLine(), elapsedMs: performance.now() - startedMs, schedulerSettings: options.schedulerSettings, daemonSettings: options.daemonSettings,
  })
  if (options.validate) {
    const { rows, section } = await runValidation(options)
    const text = section(context())
    console.log(text)
    if (options.docPath !== undefined && rows.length > 0) {
      await replaceSection(options.docPath, VALIDATION_SECTION, text)
      console.error(`wrote section "${VALIDATION_SECTION}" of ${options.docPath}`)
    }
    return
  }
  const outcomes = await runMatrix(options)
  if (options.docPath !== undefined && outcomes.length > 0) {
    const chartPath = join(dirname(options.docPath), CHART_FILE)
    await writeFile(chartPath, chart(outcomes, options.swarms))
    await replaceSection(options.docPath, SECTION, docSection(outcomes, context()))
    console.error(`wrote section "${SECTION}" of ${options.docPath} and ${chartPath}`)
  }
}

await main()
