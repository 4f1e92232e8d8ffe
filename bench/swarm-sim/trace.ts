/**
 * One Damselfly run of the swarm simulator, traced piece by piece: where its time went (see
 * trace-report.ts). For questions the tables of run.ts raise, such as why the fast hosts of a
 * heterogeneous swarm finish well after their own bound.
 *
 *   node --import tsx bench/swarm-sim/trace.ts --scenario heterogeneous-links --hosts 100 --size 256MiB [--piece 244]
 */
import { parseArgs } from 'node:util'
import { exitOnProblems, isOneOf } from '../support/options.js'
import { damselflyWith } from './damselfly.js'
import type { PieceLanded } from './damselfly/piece-trace.js'
import { EventLoop } from './engine.js'
import { Network } from './network.js'
import { ratio, seconds, swarmFigures } from './report.js'
import { hostCountOption, seedOption, sizeOption } from './run-options.js'
import { buildScenario, SCENARIO_NAMES } from './scenario-catalog.js'
import { networkOptionsFor } from './scenario.js'
import { traceReport } from './trace-report.js'

const USAGE = `usage: node --import tsx bench/swarm-sim/trace.ts [options]

  --scenario   one of ${SCENARIO_NAMES.join(', ')} (default heterogeneous-links)
  --hosts      N (default 100)
  --size       content size (default 256MiB)
  --seed       seed value of every random choice (default 1)
  --piece      also list how this piece of the first task spread, host by host`

const { values } = parseArgs({
  options: {
    scenario: { type: 'string', default: 'heterogeneous-links' },
    hosts: { type: 'string', default: '100' },
    size: { type: 'string', default: '256MiB' },
    seed: { type: 'string', default: '1' },
    piece: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
})
if (values.help) {
  console.log(USAGE)
  process.exit(0)
}
const problems: string[] = []
const scenarioName = values.scenario
if (!isOneOf(SCENARIO_NAMES, scenarioName)) problems.push(`--scenario must be one of ${SCENARIO_NAMES.join(', ')}, got ${scenarioName}`)
const hosts = hostCountOption(values.hosts, '--hosts', problems)
const sizeBytes = sizeOption(values.size, '--size', problems)
const seed = seedOption(values.seed, problems)
const piece = values.piece === undefined ? undefined : Number(values.piece)
if (piece !== undefined && !(Number.isSafeInteger(piece) && piece >= 0)) problems.push(`--piece must be a piece number (0 or more), got ${values.piece}`)
exitOnProblems(problems, USAGE)
if (!isOneOf(SCENARIO_NAMES, scenarioName)) process.exit(2)

const scenario = buildScenario(scenarioName, { hosts, sizeBytes, seed })
const loop = new EventLoop()
const network = new Network(loop, networkOptionsFor(scenario))
const events: PieceLanded[] = []
const startedMs = performance.now()
const result = await damselflyWith({ trace: { landed: (event) => events.push(event) } }).run(scenario, loop, network)
const figures = swarmFigures(scenario, { swarm: 'damselfly', result, wallMs: performance.now() - startedMs })
console.log(`${scenarioName}, N = ${hosts}, ${values.size}, seed ${seed}: median host ${seconds(figures.medianMs)}, p99 ${seconds(figures.p99Ms)}, last ${seconds(figures.lastMs)} (bound ${seconds(figures.boundMs)}); p99 host over its own bound ${ratio(figures.ownBoundRatio.p99)}.`)
console.log('')
console.log(traceReport(scenario, events, { piece }))
