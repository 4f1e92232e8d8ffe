/** The testbed bench's command line: flags, defaults, and one report of every problem. */
import { resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { parseBytes } from '../../src/common/units.js'
import { commaList, DEFAULT_DOC_PATH, exitOnProblems, isOneOf } from '../support/options.js'
import { rateBytesPerSecond } from './link-rate.js'
import { SCENARIO_NAMES, type ScenarioName } from './scenario.js'
import { MAX_HOSTS } from './testbed.js'

export const RUN_LINE = 'node --import tsx bench/testbed/run.ts'
export const CHART_FILE = 'testbed.svg'

/** The full matrix `npm run bench:testbed` runs. */
export const DEFAULTS = { hosts: '4,8,16,32', size: '64MiB,256MiB', hostRate: '100mbit', originRate: '100mbit' } as const

const USAGE = `usage: ${RUN_LINE} [options]   (as root, after npm run build)

  --hosts        comma-separated host counts N (default ${DEFAULTS.hosts})
  --size         comma-separated file sizes (default ${DEFAULTS.size})
  --host-rate    tc rate of every host's link, each direction (default ${DEFAULTS.hostRate})
  --origin-rate  tc rate of the origin host's link, each direction (default ${DEFAULTS.originRate})
  --scenarios    comma-separated, any of ${SCENARIO_NAMES.join(', ')} (default all, in that order)
  --repeat       rounds of each scenario per run; the median round is reported (default 1)
  --doc          the markdown file whose "testbed" section to replace, ${CHART_FILE} beside it
                 (default docs/benchmarks.md)
  --no-docs      print the tables only; write no section and no chart`

export interface BenchOptions {
  readonly hosts: readonly number[]
  readonly sizesBytes: readonly number[]
  readonly hostRate: string
  readonly originRate: string
  readonly scenarios: readonly ScenarioName[]
  readonly repeat: number
  /** Where the section goes; undefined with --no-docs. */
  readonly docPath: string | undefined
}

function isScenarioName(name: string): name is ScenarioName {
  return isOneOf(SCENARIO_NAMES, name)
}

/** Parses `args` (process.argv after the script); prints usage and exits on --help or any problem. */
export function parseOptions(args: readonly string[]): BenchOptions {
  const { values } = parseArgs({
    args: [...args],
    options: {
      hosts: { type: 'string', default: DEFAULTS.hosts },
      size: { type: 'string', default: DEFAULTS.size },
      'host-rate': { type: 'string', default: DEFAULTS.hostRate },
      'origin-rate': { type: 'string', default: DEFAULTS.originRate },
      scenarios: { type: 'string', default: SCENARIO_NAMES.join(',') },
      repeat: { type: 'string', default: '1' },
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
  const hosts = commaList(values.hosts).map(Number)
  if (hosts.length === 0 || hosts.some((count) => !Number.isInteger(count) || count < 1 || count > MAX_HOSTS)) problems.push(`--hosts must list counts from 1 to ${MAX_HOSTS}`)
  const sizesBytes = commaList(values.size).flatMap((size) => {
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
  const scenarios = commaList(values.scenarios)
  const unknown = scenarios.filter((name) => !isScenarioName(name))
  if (unknown.length > 0 || scenarios.length === 0) problems.push(`--scenarios must list some of ${SCENARIO_NAMES.join(', ')}, got ${values.scenarios}`)
  const repeat = Number(values.repeat)
  if (!Number.isInteger(repeat) || repeat < 1) problems.push('--repeat must be a positive integer')
  exitOnProblems(problems, USAGE)
  return {
    hosts,
    sizesBytes,
    hostRate: values['host-rate'],
    originRate: values['origin-rate'],
    scenarios: scenarios.filter(isScenarioName),
    repeat,
    docPath: values['no-docs'] ? undefined : resolve(values.doc),
  }
}
