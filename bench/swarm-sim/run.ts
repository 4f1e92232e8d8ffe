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
import { EventLoop } from './engine.js'
import { Network } from './network.js'
import { runReport, swarmFigures, type RunOutcome, type SwarmRun } from './report.js'
import { CHART_FILE, parseOptions, type SimOptions } from './run-options.js'
import { buildScenario, buildSwarm, type SwarmName } from './scenario-catalog.js'
import { networkOptionsFor, type Scenario } from './scenario.js'
import { readTestbedFigures, validationScenario, type ValidationRow } from './validation.js'

const SECTION = 'swarm-sim'
const VALIDATION_SECTION = 'swarm-sim: validation against the testbed'
/** Progress goes to stderr at most this often (wall time), from a tick every simulated second. */
const PROGRESS_EVERY_WALL_MS = 15_000
const PROGRESS_TICK_SIM_MS = 1_000
const COLORS: Readonly<Record<SwarmName, string>> = { damselfly: '#2ca02c', bittorrent: '#1f77b4' }

function wallText(ms: number): string {
  return ms < 60_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`
}

/** One swarm's run of a scenario on a fresh loop and network, with a line on stderr now and then. */
async function simulate(scenario: Scenario, swarm: SwarmName, options: SimOptions, label: string): Promise<SwarmRun> {
  const loop = new EventLoop()
  const network = new Network(loop, networkOptionsFor(scenario))
  const startedMs = performance.now()
  let shownMs = startedMs
  const tick = (): void => {
    const now = performance.now()
    if (now - shownMs >= PROGRESS_EVERY_WALL_MS) {
      shownMs = now
      console.error(`  ${label}: simulated ${(loop.nowMs / 1000).toFixed(1)} s, ${(loop.eventsRun / 1e6).toFixed(1)} M events, ${wallText(now - startedMs)}`)
    }
    loop.after(PROGRESS_TICK_SIM_MS, tick)
  }
  loop.after(PROGRESS_TICK_SIM_MS, tick)
  const result = await buildSwarm(swarm, options).run(scenario, loop, network)
  return { swarm, result, wallMs: performance.now() - startedMs }
}

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

async function runMatrix(options: SimOptions): Promise<RunOutcome[]> {
  const outcomes: RunOutcome[] = []
  for (const spec of options.runs) {
    const scenario = buildScenario(spec.scenario, { hosts: spec.hosts, sizeBytes: spec.sizeBytes, seed: options.seed })
    const runs: SwarmRun[] = []
    for (const swarm of options.swarms) {
      const label = `${spec.scenario} N=${spec.hosts} ${formatBytes(spec.sizeBytes)} ${swarm}`
      console.error(`${label}: running`)
      const run = await simulate(scenario, swarm, options, label)
      console.error(`${label}: done in ${wallText(run.wallMs)} (${(run.result.events / 1e6).toFixed(1)} M events)`)
      runs.push(run)
    }
    const outcome = { spec, scenario, runs }
    outcomes.push(outcome)
    console.log(`${runReport(outcome)}\n`)
  }
  return outcomes
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
