/**
 * The proving ground: on a testbed of N shaped network namespaces, every host fetches one random
 * file (a) with curl straight from the origin, (b) over BitTorrent (aria2c, opentracker, a seeder
 * on the origin's host) and (c) through one dfdaemon per host, one scenario after another. Prints
 * a markdown table per (N, size) and writes them with a chart to docs/ (see run-options.ts).
 * Run as root after `npm run build`; `--help` lists the options.
 */
import { writeFile } from 'node:fs/promises'
import { availableParallelism } from 'node:os'
import { dirname, join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { formatBytes } from '../../src/common/units.js'
import { tempDir } from '../../test/support/files.js'
import { BenchRun } from '../support/bench-run.js'
import { machineLine, replaceSection } from '../support/benchmarks-doc.js'
import { lineChartSvg, type ChartPanel } from './chart.js'
import { docSection } from './doc-section.js'
import { lowerBound, rateBytesPerSecond } from './link-rate.js'
import { ProvingGround, type RoundResult } from './proving-ground.js'
import { representative, runReport, type RunOutcome, type RunSpec, type ScenarioOutcome } from './report.js'
import { CHART_FILE, parseOptions, type BenchOptions } from './run-options.js'
import type { Scenario, ScenarioName } from './scenario.js'
import { BitTorrentScenario } from './scenarios/bittorrent.js'
import { CurlScenario } from './scenarios/curl.js'
import { DamselflyScenario } from './scenarios/damselfly.js'

/** A round's deadline is this multiple of curl's origin-limited time (N·S/u_origin), and at least the minimum. */
const TIMEOUT_OVER_CURL_BOUND = 3
const MIN_DOWNLOAD_TIMEOUT_MS = 120_000
const SECTION = 'testbed'
const COLORS: Readonly<Record<ScenarioName | 'bound', string>> = { curl: '#d62728', bittorrent: '#1f77b4', damselfly: '#2ca02c', bound: '#555555' }

const SCENARIOS: Readonly<Record<ScenarioName, Scenario>> = {
  curl: new CurlScenario(),
  bittorrent: new BitTorrentScenario(),
  damselfly: new DamselflyScenario(),
}

/** Every scenario's rounds on one payload; a failed round is recorded and ends that scenario's rounds. */
async function measureRun(ground: ProvingGround, spec: RunSpec, options: BenchOptions): Promise<RunOutcome> {
  const payload = await ground.addPayload(spec.sizeBytes)
  const bound = lowerBound({
    hosts: spec.hosts,
    sizeBytes: spec.sizeBytes,
    hostBytesPerSecond: rateBytesPerSecond(spec.hostRate),
    originBytesPerSecond: rateBytesPerSecond(spec.originRate),
  })
  const scenarios: ScenarioOutcome[] = []
  for (const name of options.scenarios) {
    const rounds: RoundResult[] = []
    let failure: string | undefined
    for (let round = 1; round <= spec.repeat && failure === undefined; round++) {
      console.error(`N=${spec.hosts} ${formatBytes(spec.sizeBytes)}: ${name}, round ${round} of ${spec.repeat}`)
      try {
        rounds.push(await ground.round(SCENARIOS[name], payload))
      } catch (error) {
        failure = error instanceof Error ? error.message : String(error)
        console.error(`N=${spec.hosts} ${formatBytes(spec.sizeBytes)}: ${name} failed: ${failure}`)
      }
    }
    scenarios.push({ name, rounds, ...(failure === undefined ? {} : { failure }) })
  }
  return { spec, bound, scenarios }
}

function chart(outcomes: readonly RunOutcome[], options: BenchOptions): string {
  const panels: ChartPanel[] = options.sizesBytes.map((sizeBytes) => {
    const runs = outcomes.filter((outcome) => outcome.spec.sizeBytes === sizeBytes)
    return {
      title: `${formatBytes(sizeBytes)}, hosts ${options.hostRate}, origin ${options.originRate}`,
      series: [
        ...options.scenarios.map((name) => ({
          name,
          color: COLORS[name],
          points: runs.flatMap((run) => {
            const round = representative(run.scenarios.find((scenario) => scenario.name === name)?.rounds ?? [])
            return round === undefined ? [] : [{ hosts: run.spec.hosts, value: round.lastDoneMs / 1000 }]
          }),
        })),
        { name: 'lower bound', color: COLORS.bound, dashed: true, points: runs.map((run) => ({ hosts: run.spec.hosts, value: run.bound.boundMs / 1000 })) },
      ],
    }
  })
  return lineChartSvg(panels, { title: 'Testbed: time until the last host holds the file' })
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2))
  const startedMs = performance.now()
  const cores = availableParallelism()
  const run = new BenchRun()
  for (const [signal, exitCode] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
    process.once(signal, () => {
      console.error(`${signal}: stopping every process and deleting the testbed`)
      void run.release().finally(() => process.exit(exitCode))
    })
  }
  const outcomes: RunOutcome[] = []
  try {
    run.work = await tempDir('testbed')
    for (const hosts of options.hosts) {
      const curlBoundMs = Math.max(...options.sizesBytes.map((sizeBytes) => ((hosts * sizeBytes) / rateBytesPerSecond(options.originRate)) * 1000))
      const ground = run.hold(
        new ProvingGround(
          { children: run.children },
          {
            hosts,
            hostRate: options.hostRate,
            originRate: options.originRate,
            workDir: join(run.work.path, `n${hosts}`),
            downloadTimeoutMs: Math.ceil(Math.max(MIN_DOWNLOAD_TIMEOUT_MS, TIMEOUT_OVER_CURL_BOUND * curlBoundMs)),
          },
        ),
        (held) => held.close(),
      )
      await ground.open()
      try {
        for (const sizeBytes of options.sizesBytes) {
          const outcome = await measureRun(ground, { hosts, sizeBytes, hostRate: options.hostRate, originRate: options.originRate, repeat: options.repeat }, options)
          outcomes.push(outcome)
          console.log(`${runReport(outcome, { cores })}\n`)
        }
      } finally {
        await ground.close()
      }
    }
    if (options.docPath !== undefined && outcomes.length > 0) {
      const chartPath = join(dirname(options.docPath), CHART_FILE)
      await writeFile(chartPath, chart(outcomes, options))
      const section = docSection(outcomes, {
        args: process.argv.slice(2),
        measuredAt: new Date(),
        machine: machineLine(),
        cores,
        elapsedMs: performance.now() - startedMs,
        hostRate: options.hostRate,
        originRate: options.originRate,
      })
      await replaceSection(options.docPath, SECTION, section)
      console.error(`wrote section "${SECTION}" of ${options.docPath} and ${chartPath}`)
    }
    if (outcomes.some((outcome) => outcome.scenarios.some((scenario) => scenario.failure !== undefined))) process.exitCode = 1
  } finally {
    await run.release()
  }
}

await main()
