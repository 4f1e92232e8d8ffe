/**
 * One swarm's run of one scenario, in this process or in a process of its own (so that runs of
 * a matrix go side by side, one per core: `run.ts --jobs`). A run is a function of its job alone,
 * so where it runs changes nothing in its result.
 */
import { fork } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { performance } from 'node:perf_hooks'
import type { SchedulerSettings } from '../../src/scheduler/config.js'
import type { DaemonSettings } from './daemon-settings.js'
import { EventLoop } from './engine.js'
import { Network } from './network.js'
import type { SwarmRun } from './report.js'
import { buildScenario, buildSwarm, type SwarmName } from './scenario-catalog.js'
import { networkOptionsFor, type Scenario } from './scenario.js'
import type { RunSpec } from './run-options.js'

/** Progress goes to stderr at most this often (wall time), from a tick every simulated second. */
const PROGRESS_EVERY_WALL_MS = 15_000
const PROGRESS_TICK_SIM_MS = 1_000

/** What a run needs besides its scenario. */
export interface SwarmSettings {
  readonly schedulerSettings: Partial<SchedulerSettings>
  readonly daemonSettings: DaemonSettings
}

/** A run to make: the scenario is built from the spec and the seed, wherever the run happens. */
export interface SimulationJob extends SwarmSettings {
  readonly spec: RunSpec
  readonly seed: number
  readonly swarm: SwarmName
  readonly label: string
}

export function wallText(ms: number): string {
  return ms < 60_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`
}

/** One swarm's run of a scenario on a fresh loop and network, with a line on stderr now and then. */
export async function simulate(scenario: Scenario, swarm: SwarmName, settings: SwarmSettings, label: string): Promise<SwarmRun> {
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
  const result = await buildSwarm(swarm, settings).run(scenario, loop, network)
  return { swarm, result, wallMs: performance.now() - startedMs }
}

function scenarioOf(job: SimulationJob): Scenario {
  return buildScenario(job.spec.scenario, { hosts: job.spec.hosts, sizeBytes: job.spec.sizeBytes, seed: job.seed })
}

/** Runs `job` here. */
export function simulateJob(job: SimulationJob): Promise<SwarmRun> {
  return simulate(scenarioOf(job), job.swarm, job, job.label)
}

/** Runs `job` in a child process of its own (this file, under the same loader), which ends with it. */
export function simulateApart(job: SimulationJob): Promise<SwarmRun> {
  return new Promise((resolve, reject) => {
    const child = fork(fileURLToPath(import.meta.url), [], { execArgv: ['--import', 'tsx'], serialization: 'advanced' })
    let run: SwarmRun | undefined
    child.once('message', (message) => {
      run = message as SwarmRun
    })
    child.once('error', reject)
    child.once('exit', (code, signal) => {
      if (run !== undefined) resolve(run)
      else reject(new Error(`${job.label}: the simulation's process ended without a result (${signal ?? `exit code ${code ?? '?'}`})`))
    })
    child.send(job)
  })
}

// As a child process: run the one job the parent sends, send the result back, and end.
const send = process.send?.bind(process)
if (send !== undefined && process.argv[1] === fileURLToPath(import.meta.url)) {
  process.once('message', (job: SimulationJob) => {
    simulateJob(job).then((run) => {
      send(run, () => process.disconnect())
    }, (error: unknown) => {
      console.error(error)
      process.exit(1)
    })
  })
}
