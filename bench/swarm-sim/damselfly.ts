/**
 * Damselfly in the simulator: the real scheduler (SchedulerCore) on a host of its own, and a
 * simulated dfdaemon on every host of the scenario, following the daemon's own rules where they
 * are shared code (PieceChoice, PieceSpread, PeerSession with its report batching, sourceRuns)
 * and its loop where it is I/O (damselfly/*.ts say how each part mirrors the daemon).
 */
import type { DaemonConfig } from '../../src/daemon/config.js'
import type { SchedulerSettings } from '../../src/scheduler/config.js'
import { daemonConfigWith, type DaemonSettings } from './daemon-settings.js'
import { Daemon } from './damselfly/daemon.js'
import type { PieceTrace } from './damselfly/piece-trace.js'
import { SchedulerHost } from './damselfly/scheduler-host.js'
import { TaskCatalog } from './damselfly/task-catalog.js'
import type { EventLoop } from './engine.js'
import { lowerBoundMs } from './lower-bound.js'
import { scheduleMembership } from './membership.js'
import type { Network } from './network.js'
import { createRandom, deriveSeed } from './random.js'
import { RunProgress } from './run-progress.js'
import type { Scenario, Swarm, SwarmResult } from './scenario.js'

/** Streams of randomness: the scheduler's, then two per host (piece choice, request processing) after these offsets. */
const SCHEDULER_STREAM = 1_000
const HOST_STREAM_OFFSET = 1_001
const UPLOAD_STREAM_OFFSET = 0x40000000
/**
 * The most a daemon's upload server takes to get to a piece request: about what a Node process
 * takes for one request on an idle core (the scheduler-load bench answers a registration over
 * gRPC in 0.73 ms at the median), capability check included.
 */
const REQUEST_PROCESSING_MS = 1
/** A run that has not ended after this many lower bounds (plus a margin) is cut off: its unfinished hosts count as never done. */
const LIMIT_LOWER_BOUNDS = 20
const LIMIT_MARGIN_MS = 120_000

/** What a run may change from the defaults, to see what a setting does to the swarm. */
export interface DamselflyOptions {
  /** The scheduler config's `scheduler` block where it differs from the defaults (durations in ms). */
  readonly schedulerSettings?: Partial<SchedulerSettings>
  /** The daemon's numeric settings where they differ from the defaults, by path (`download.concurrentPieceCount`). */
  readonly daemonSettings?: DaemonSettings
  /** Told of every piece every daemon gets (bench/swarm-sim/trace.ts). */
  readonly trace?: PieceTrace
}

/** Damselfly with the scheduler's and the daemon's default config but for `options`. */
export function damselflyWith(options: DamselflyOptions): Swarm {
  const config = daemonConfigWith(options.daemonSettings ?? {})
  return { name: 'damselfly', run: (scenario, loop, network) => runDamselfly(scenario, loop, network, config, options) }
}

export const damselfly: Swarm = damselflyWith({})

async function runDamselfly(scenario: Scenario, loop: EventLoop, network: Network, config: DaemonConfig, options: DamselflyOptions): Promise<SwarmResult> {
  const schedulerHostNumber = Math.max(scenario.origin.id, ...scenario.hosts.map((host) => host.id)) + 1
  const scheduler = new SchedulerHost(
    { loop, network, random: createRandom(deriveSeed(scenario.seed, SCHEDULER_STREAM)) },
    { host: schedulerHostNumber, settings: options.schedulerSettings },
  )
  network.addHost(schedulerHostNumber, { upBytesPerMs: Infinity, downBytesPerMs: Infinity, latencyMs: scenario.origin.links.latencyMs })
  const catalog = new TaskCatalog(scenario.tasks, config.source.filteredQueryParams)
  const progress = new RunProgress({ scenario, loop, network })
  const daemons = new Map<number, Daemon>()
  const byIp = new Map<string, Daemon>()
  scheduleMembership(scenario, loop, network, {
    arrive: (host) => {
      const daemon = new Daemon(
        {
          loop, network, catalog, scheduler, progress,
          uploadServerAt: (ip) => byIp.get(ip)?.uploads,
          random: createRandom(deriveSeed(scenario.seed, HOST_STREAM_OFFSET + host.id)),
          uploadRandom: createRandom(deriveSeed(scenario.seed, UPLOAD_STREAM_OFFSET + host.id)),
          trace: options.trace,
        },
        { sim: host, origin: scenario.origin.id, config, requestProcessingMs: REQUEST_PROCESSING_MS },
      )
      daemons.set(host.id, daemon)
      byIp.set(daemon.ip, daemon)
      daemon.arrive()
    },
    leave: (host) => {
      const daemon = daemons.get(host.id)
      if (daemon === undefined) return
      byIp.delete(daemon.ip)
      daemon.leave()
      progress.left(host.id)
    },
  })
  await loop.run({ untilMs: LIMIT_LOWER_BOUNDS * lowerBoundMs(scenario) + LIMIT_MARGIN_MS })
  if (scheduler.failure !== undefined) throw scheduler.failure
  const result = progress.result({ schedulerDecisions: await scheduler.decisions() })
  await scheduler.core.stop()
  return result
}
