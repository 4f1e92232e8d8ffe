/**
 * The proving ground: on a testbed of N shaped network namespaces, every host fetches one random
 * file (a) with curl straight from the origin, (b) over BitTorrent (aria2c, opentracker, a seeder
 * on the origin's host) and (c) with dfget through one dfdaemon per host, one scenario after
 * another. Prints a markdown table per (N, size) and writes them with a chart to docs/.
 * Run as root after `npm run build`; `--help` lists the options.
 */
import { writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { formatBytes, parseBytes } from '../../src/common/units.js'
import { tempDir } from '../../test/support/files.js'
import { BenchRun } from '../support/bench-run.js'
import { machineLine, replaceSection } from '../support/benchmarks-doc.js'
import { lineChartSvg, type ChartPanel } from './chart.js'
import { lowerBound, rateBytesPerSecond } from './link-rate.js'
import { ProvingGround, type RoundResult } from './proving-ground.js'
import { representative, runReport, type RunOutcome, type RunSpec, type ScenarioOutcome } from './report.js'
import { SCENARIO_NAMES, type Scenario, type ScenarioName } from './scenario.js'
import { BITTORRENT_PIECE_LENGTH_BYTES, BitTorrentScenario } from './scenarios/bittorrent.js'
import { CurlScenario } from './scenarios/curl.js'
import { DamselflyScenario } from './scenarios/damselfly.js'
import { MAX_HOSTS } from './testbed.js'

const ROOT = resolve(import.meta.dirname, '..', '..')
const DOC_PATH = join(ROOT, 'docs', 'benchmarks.md')
const CHART_FILE = 'testbed.svg'
const SECTION = 'testbed'
const RUN_LINE = 'node --import tsx bench/testbed/run.ts'
/** A round's deadline is this multiple of curl's origin-limited time (N·S/u_origin), and at least the minimum. */
const TIMEOUT_OVER_CURL_BOUND = 3
const MIN_DOWNLOAD_TIMEOUT_MS = 120_000
const COLORS: Readonly<Record<ScenarioName | 'bound', string>> = { curl: '#d62728', bittorrent: '#1f77b4', damselfly: '#2ca02c', bound: '#555555' }

const USAGE = `usage: ${RUN_LINE} [options]   (as root, after npm run build)

  --hosts        comma-separated host counts N (default 4,8,16,32)
  --size         comma-separated file sizes (default 64MiB,256MiB)
  --host-rate    tc rate of every host's link, each direction (default 100mbit)
  --origin-rate  tc rate of the origin host's link, each direction (default 100mbit)
  --scenarios    comma-separated, any of ${SCENARIO_NAMES.join(', ')} (default all, in that order)
  --repeat       rounds of each scenario per run; the median round is reported (default 1)
  --no-docs      print the tables only; leave docs/benchmarks.md and docs/${CHART_FILE} alone`

interface BenchOptions {
  readonly hosts: readonly number[]
  readonly sizesBytes: readonly number[]
  readonly hostRate: string
  readonly originRate: string
  readonly scenarios: readonly ScenarioName[]
  readonly repeat: number
  readonly updateDocs: boolean
}

const SCENARIOS: Readonly<Record<ScenarioName, Scenario>> = {
  curl: new CurlScenario(),
  bittorrent: new BitTorrentScenario(),
  damselfly: new DamselflyScenario(),
}

function list(text: string): string[] {
  return text.split(',').map((item) => item.trim()).filter((item) => item !== '')
}

function isScenarioName(name: string): name is ScenarioName {
  return (SCENARIO_NAMES as readonly string[]).includes(name)
}

function parseOptions(): BenchOptions {
  const { values } = parseArgs({
    options: {
      hosts: { type: 'string', default: '4,8,16,32' },
      size: { type: 'string', default: '64MiB,256MiB' },
      'host-rate': { type: 'string', default: '100mbit' },
      'origin-rate': { type: 'string', default: '100mbit' },
      scenarios: { type: 'string', default: SCENARIO_NAMES.join(',') },
      repeat: { type: 'string', default: '1' },
      'no-docs': { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  })
  if (values.help) {
    console.log(USAGE)
    process.exit(0)
  }
  const problems: string[] = []
  const hosts = list(values.hosts).map(Number)
  if (hosts.length === 0 || hosts.some((count) => !Number.isInteger(count) || count < 1 || count > MAX_HOSTS)) problems.push(`--hosts must list counts from 1 to ${MAX_HOSTS}`)
  const sizesBytes = list(values.size).flatMap((size) => {
    try {
      return [parseBytes(size)]
    } catch (error) {
      problems.push(`--size: ${(error as Error).message}`)
      return []
    }
  })
  for (const key of ['host-rate', 'origin-rate'] as const) {
    try {
      rateBytesPerSecond(values[key])
    } catch (error) {
      problems.push(`--${key}: ${(error as Error).message}`)
    }
  }
  const scenarios = list(values.scenarios)
  const unknown = scenarios.filter((name) => !isScenarioName(name))
  if (unknown.length > 0 || scenarios.length === 0) problems.push(`--scenarios must list some of ${SCENARIO_NAMES.join(', ')}, got ${values.scenarios}`)
  const repeat = Number(values.repeat)
  if (!Number.isInteger(repeat) || repeat < 1) problems.push('--repeat must be a positive integer')
  if (problems.length > 0) {
    console.error(`${problems.join('\n')}\n\n${USAGE}`)
    process.exit(2)
  }
  return {
    hosts,
    sizesBytes,
    hostRate: values['host-rate'],
    originRate: values['origin-rate'],
    scenarios: scenarios.filter(isScenarioName),
    repeat,
    updateDocs: !values['no-docs'],
  }
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
            return round === undefined ? [] : [{ hosts: run.spec.hosts, seconds: round.lastDoneMs / 1000 }]
          }),
        })),
        { name: 'lower bound', color: COLORS.bound, dashed: true, points: runs.map((run) => ({ hosts: run.spec.hosts, seconds: run.bound.boundMs / 1000 })) },
      ],
    }
  })
  return lineChartSvg(panels, { title: 'Testbed: time until the last host holds the file' })
}

function docSection(outcomes: readonly RunOutcome[]): string {
  return [
    'Run it as root: `npm run bench:testbed` (builds, then the full default matrix: N = 4, 8, 16, 32 × 64 MiB and 256 MiB at',
    '100mbit everywhere; roughly 45 minutes here, most of it curl, whose time grows as N·S/u_origin). Pick a part with',
    `\`${RUN_LINE} --hosts 4,8,16 --size 64MiB --host-rate 100mbit --origin-rate 100mbit [--scenarios curl,bittorrent,damselfly] [--repeat K] [--no-docs]\`.`,
    '',
    `Measured ${new Date().toISOString()} on ${machineLine()}.`,
    'Other work (builds, test suites, other benchmarks) may share the machine: the "machine CPU busy" column is the share of',
    'all cores that anything used during the fetches, so a figure near 100% means the run was CPU-bound, not link-bound.',
    '',
    `Command: \`${RUN_LINE} ${process.argv.slice(2).join(' ')}\``,
    '',
    'How:',
    '',
    '- Testbed (bench/testbed/testbed.ts): a hub namespace with a bridge, an origin namespace (10.77.0.2) and one namespace',
    '  per host (10.77.0.11 up), joined by veth pairs. Every link is shaped with `tc tbf` (burst 256 kB, latency 100 ms) in',
    '  both directions: the namespace side\'s egress is its upload, the hub side\'s its download. Rates of 100mbit keep the 2',
    '  cores mostly out of the way (12.5 MB/s per host); tc counts whole frames, so payload goodput is a few percent lower than',
    '  the nominal rate the lower bound uses. The testbed is rebuilt for each N; the scenarios run one after another on it.',
    '- Figures: "last host" and "median host" are each host\'s own finish time after all were started at once. "Host upload"',
    '  is the tc byte counter of each host\'s eth0 egress, read before and after the fetches, headers and ACKs included (the',
    '  ACKs of a host\'s own download stay under 0.01x with the veths\' segment offload; under 0.1x counts as "not',
    '  uploading"). "Origin link sent" is the same counter on the origin namespace.',
    '- curl: `curl -o` on every host at once, from a small Node HTTP server in the origin namespace (static-server.ts);',
    '  origin egress is the server\'s own count of body bytes sent.',
    `- BitTorrent: \`mktorrent\` with ${BITTORRENT_PIECE_LENGTH_BYTES / 1024 ** 2} MiB pieces (BitTorrent's usual size here, and Damselfly's for these sizes),`,
    '  opentracker (whitelist holding the info hash) and an aria2c seeder in the origin namespace, an aria2c leecher on',
    '  every host at once, without DHT, local discovery or peer exchange. Leechers keep seeding until the last host is done',
    '  (`--seed-time=0` would make each leave the swarm the moment it finishes, which handicaps BitTorrent); each host\'s',
    '  finish time is stamped by aria2\'s on-bt-download-complete hook, which runs before seeding starts. There is no HTTP',
    '  origin in this scenario: its origin egress is the seeder\'s link counter (tracker replies included, negligible).',
    '- Damselfly: the scheduler, a seed daemon and the HTTP origin all live in the origin namespace, so the origin link',
    '  carries both the origin\'s and the seed\'s uploads: "origin egress" is the HTTP server\'s body count, "origin link sent"',
    '  the origin plus the seed (and scheduler). The seed\'s own fetch from the origin stays inside that namespace, off the',
    '  shaped link. Every daemon starts fresh, with empty storage, for the scenario; then `dfget URL -O FILE` runs on every',
    '  host at once (Damselfly\'s computed piece length, 1 MiB for these sizes). The notes give the seed daemon\'s own upload counter.',
    '- Every host\'s file is checked against the sha256 of the payload ("sha256 ok").',
    '',
    `![time of the last host against N, per scenario, with the lower bound](${CHART_FILE})`,
    '',
    ...outcomes.flatMap((outcome) => [runReport(outcome), '']),
  ].join('\n')
}

async function main(): Promise<void> {
  const options = parseOptions()
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
            downloadTimeoutMs: Math.max(MIN_DOWNLOAD_TIMEOUT_MS, TIMEOUT_OVER_CURL_BOUND * curlBoundMs),
          },
        ),
        (held) => held.close(),
      )
      await ground.open()
      try {
        for (const sizeBytes of options.sizesBytes) {
          const outcome = await measureRun(ground, { hosts, sizeBytes, hostRate: options.hostRate, originRate: options.originRate, repeat: options.repeat }, options)
          outcomes.push(outcome)
          console.log(`${runReport(outcome)}\n`)
        }
      } finally {
        await ground.close()
      }
    }
    if (options.updateDocs && outcomes.length > 0) {
      await writeFile(join(ROOT, 'docs', CHART_FILE), chart(outcomes, options))
      await replaceSection(DOC_PATH, SECTION, docSection(outcomes))
      console.error(`wrote section "${SECTION}" of ${DOC_PATH} and docs/${CHART_FILE}`)
    }
    if (outcomes.some((outcome) => outcome.scenarios.some((scenario) => scenario.failure !== undefined))) process.exitCode = 1
  } finally {
    await run.release()
  }
}

await main()
