/** The swarm simulator's command line: flags, defaults, and one report of every problem. */
import { resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { parseBytes } from '../../src/common/units.js'
import { DEFAULT_SCHEDULER_SETTINGS, schedulerSettingsSchema, type SchedulerSettings } from '../../src/scheduler/config.js'
import { commaList, DEFAULT_DOC_PATH, exitOnProblems, isOneOf } from '../support/options.js'
import { daemonConfigWith, type DaemonSettings } from './daemon-settings.js'
import { SCENARIO_NAMES, SWARM_NAMES, type ScenarioName, type SwarmName } from './scenario-catalog.js'

export const RUN_LINE = 'node --import tsx bench/swarm-sim/run.ts'
export const CHART_FILE = 'swarm-sim.svg'

/** The issue's matrix. N = 10,000 at 3 GiB takes the better part of an hour per scenario and swarm on one core. */
export const DEFAULTS = { hosts: '100,1000,10000', sizes: '256MiB,3GiB', seed: '1' } as const

const USAGE = `usage: ${RUN_LINE} [options]

  --hosts       comma-separated host counts N (default ${DEFAULTS.hosts})
  --sizes       comma-separated content sizes (default ${DEFAULTS.sizes})
  --scenarios   comma-separated, any of ${SCENARIO_NAMES.join(', ')} (default all)
  --swarms      comma-separated, any of ${SWARM_NAMES.join(', ')} (default both)
  --also        extra runs beyond the matrix, comma-separated scenario:N:size (e.g. equal-links:10000:3GiB)
  --seed        seed value of every random choice (default ${DEFAULTS.seed})
  --jobs        runs at once, each in a process of its own (default 1: one after the other, in this process);
                the results are the same either way
  --scheduler   Damselfly's scheduler settings over the defaults, comma-separated key=value with numbers
                (milliseconds for durations), e.g. candidateParentLimit=8,retryInterval=200
  --daemon      the simulated daemons' numeric settings over the defaults, comma-separated path=value,
                e.g. download.concurrentPieceCount=16,seedPeer.taskUploadLimit=4
  --validate    instead: the testbed's scenarios (N = 4, 8, 16 x 64 MiB at 20mbit), compared with
                bench/swarm-sim/testbed-figures.json
  --doc         the markdown file whose section to replace, ${CHART_FILE} beside it (default docs/benchmarks.md)
  --no-docs     print the tables only; write no section and no chart`

/** One run of the matrix: a scenario at a size and a host count, for every swarm. */
export interface RunSpec {
  readonly scenario: ScenarioName
  readonly hosts: number
  readonly sizeBytes: number
}

export interface SimOptions {
  readonly runs: readonly RunSpec[]
  readonly swarms: readonly SwarmName[]
  readonly seed: number
  /** Runs at once, each in a process of its own; 1: one after the other in this process. */
  readonly jobs: number
  /** The scheduler settings a run changes (empty: the defaults). */
  readonly schedulerSettings: Partial<SchedulerSettings>
  /** The daemon settings a run changes, by path (empty: the defaults). */
  readonly daemonSettings: DaemonSettings
  readonly validate: boolean
  /** Where the section goes; undefined with --no-docs. */
  readonly docPath: string | undefined
}

function isScenarioName(name: string): name is ScenarioName {
  return isOneOf(SCENARIO_NAMES, name)
}

function isSwarmName(name: string): name is SwarmName {
  return isOneOf(SWARM_NAMES, name)
}

/** A host count N from the command line; a problem for `problems` if it is not a positive integer. */
export function hostCountOption(text: string, flag: string, problems: string[]): number {
  const count = Number(text)
  if (!Number.isSafeInteger(count) || count < 1) problems.push(`${flag}: a host count is a positive integer, got ${JSON.stringify(text)}`)
  return count
}

/** A content size (1GiB, 256MiB) from the command line; a problem for `problems` unless it is at least a byte. */
export function sizeOption(text: string, flag: string, problems: string[]): number {
  try {
    const bytes = parseBytes(text)
    if (bytes < 1) problems.push(`${flag}: a size is at least one byte, got ${JSON.stringify(text)}`)
    return bytes
  } catch (error) {
    problems.push(`${flag}: ${(error as Error).message}`)
    return 0
  }
}

/** The `--seed` value; a problem for `problems` unless it is a non-negative integer. */
export function seedOption(text: string, problems: string[]): number {
  const seed = Number(text)
  if (!Number.isSafeInteger(seed) || seed < 0) problems.push(`--seed must be a non-negative integer, got ${JSON.stringify(text)}`)
  return seed
}

/** `key=value,key=value` with numeric values; a value that is no number stays NaN for the settings' schema to refuse. */
function numericSettings(text: string): Record<string, number> {
  return Object.fromEntries(commaList(text).map((pair) => {
    const [key = '', value = ''] = pair.split('=')
    return [key, Number(value)]
  }))
}

/** Parses `args` (process.argv after the script); prints usage and exits on --help or any problem. */
export function parseOptions(args: readonly string[]): SimOptions {
  const { values } = parseArgs({
    args: [...args],
    options: {
      hosts: { type: 'string', default: DEFAULTS.hosts },
      sizes: { type: 'string', default: DEFAULTS.sizes },
      scenarios: { type: 'string', default: SCENARIO_NAMES.join(',') },
      swarms: { type: 'string', default: SWARM_NAMES.join(',') },
      also: { type: 'string', default: '' },
      seed: { type: 'string', default: DEFAULTS.seed },
      jobs: { type: 'string', default: '1' },
      scheduler: { type: 'string', default: '' },
      daemon: { type: 'string', default: '' },
      validate: { type: 'boolean', default: false },
      doc: { type: 'string', default: DEFAULT_DOC_PATH },
      'no-docs': { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  })
  if (values.help) {
    console.log(USAGE)
    process.exit(0)
  }
  const problems: string[] = []
  const hostCount = (text: string, flag: string): number => hostCountOption(text, flag, problems)
  const size = (text: string, flag: string): number => sizeOption(text, flag, problems)
  const hosts = commaList(values.hosts).map((text) => hostCount(text, '--hosts'))
  const sizesBytes = commaList(values.sizes).map((text) => size(text, '--sizes'))
  if (hosts.length === 0 || sizesBytes.length === 0) problems.push('--hosts and --sizes must each list something')
  const scenarios = commaList(values.scenarios)
  if (scenarios.length === 0 || !scenarios.every(isScenarioName)) problems.push(`--scenarios must list some of ${SCENARIO_NAMES.join(', ')}, got ${values.scenarios}`)
  const swarms = commaList(values.swarms)
  if (swarms.length === 0 || !swarms.every(isSwarmName)) problems.push(`--swarms must list some of ${SWARM_NAMES.join(', ')}, got ${values.swarms}`)
  const also = commaList(values.also).flatMap((item): RunSpec[] => {
    const [scenario = '', count = '', sizeText = ''] = item.split(':')
    if (!isScenarioName(scenario)) {
      problems.push(`--also: ${JSON.stringify(item)} must be scenario:N:size with a scenario of ${SCENARIO_NAMES.join(', ')}`)
      return []
    }
    return [{ scenario, hosts: hostCount(count, '--also'), sizeBytes: size(sizeText, '--also') }]
  })
  const seed = seedOption(values.seed, problems)
  const jobs = Number(values.jobs)
  if (!Number.isSafeInteger(jobs) || jobs < 1) problems.push(`--jobs: a count of runs at once is a positive integer, got ${JSON.stringify(values.jobs)}`)
  const schedulerSettings = numericSettings(values.scheduler) as Partial<SchedulerSettings>
  const checked = schedulerSettingsSchema.safeParse({ ...DEFAULT_SCHEDULER_SETTINGS, ...schedulerSettings })
  const unknownKeys = Object.keys(schedulerSettings).filter((key) => !(key in DEFAULT_SCHEDULER_SETTINGS))
  if (!checked.success || unknownKeys.length > 0) {
    problems.push(`--scheduler: ${unknownKeys.length > 0 ? `no such setting: ${unknownKeys.join(', ')}` : checked.error?.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ') ?? ''}`)
  }
  const daemonSettings = numericSettings(values.daemon)
  try {
    daemonConfigWith(daemonSettings)
  } catch (error) {
    problems.push(`--daemon: ${(error as Error).message}`)
  }
  exitOnProblems(problems, USAGE)
  const matrix = scenarios.filter(isScenarioName).flatMap((scenario) => sizesBytes.flatMap((sizeBytes) => hosts.map((count) => ({ scenario, hosts: count, sizeBytes }))))
  return {
    runs: [...matrix, ...also],
    swarms: swarms.filter(isSwarmName),
    seed,
    jobs,
    schedulerSettings,
    daemonSettings,
    validate: values.validate,
    docPath: values['no-docs'] ? undefined : resolve(values.doc),
  }
}
