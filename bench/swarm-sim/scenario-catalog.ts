/** The scenarios and the two swarms, by the names the command line and the report use. */
import type { SchedulerSettings } from '../../src/scheduler/config.js'
import { bittorrent } from './bittorrent.js'
import { damselflyWith } from './damselfly.js'
import type { DaemonSettings } from './daemon-settings.js'
import {
  equalLinks, GBIT, heterogeneousLinks, imageLayers, leavingHosts, slowTail, spreadArrivals, type Scenario, type Swarm,
} from './scenario.js'

/** Every link's rate where a scenario has one rate: a node's usual NIC. */
export const HOST_RATE_BITS_PER_SECOND = 1 * GBIT

export const SCENARIO_NAMES = ['equal-links', 'heterogeneous-links', 'slow-tail', 'spread-arrivals', 'leaving-hosts', 'image-layers'] as const
export type ScenarioName = (typeof SCENARIO_NAMES)[number]

/** What each scenario is, in the words the report uses. */
export const SCENARIO_DESCRIPTIONS: Readonly<Record<ScenarioName, string>> = {
  'equal-links': 'every link (hosts, seed peer, origin) at 1 Gbit/s both ways, every host there at 0',
  'heterogeneous-links': 'hosts at 1, 10 and 25 Gbit/s in equal shares (shuffled), origin and seed peer at 10 Gbit/s',
  'slow-tail': 'as equal-links, but 10% of the hosts (chosen at random) at 100 Mbit/s',
  'spread-arrivals': 'as equal-links, hosts arriving uniformly at random over 30 s',
  'leaving-hosts': 'as equal-links, 5% of the hosts leaving at a random point between 10% and 90% of the way to the lower bound',
  'image-layers': 'as equal-links, the size split into 10 tasks (an image\'s layers, sizes drawn exponentially) that every host fetches at once',
}

export function buildScenario(name: ScenarioName, options: { hosts: number; sizeBytes: number; seed: number }): Scenario {
  const rate = { ...options, rateBitsPerSecond: HOST_RATE_BITS_PER_SECOND }
  switch (name) {
    case 'equal-links':
      return equalLinks(rate)
    case 'heterogeneous-links':
      return heterogeneousLinks(options)
    case 'slow-tail':
      return slowTail(rate)
    case 'spread-arrivals':
      return spreadArrivals(rate)
    case 'leaving-hosts':
      return leavingHosts(rate)
    case 'image-layers':
      return imageLayers(rate)
  }
}

export const SWARM_NAMES = ['damselfly', 'bittorrent'] as const
export type SwarmName = (typeof SWARM_NAMES)[number]

/** A swarm by name; Damselfly's scheduler and daemons with `schedulerSettings` and `daemonSettings` over their defaults. */
export function buildSwarm(name: SwarmName, options: { schedulerSettings: Partial<SchedulerSettings>; daemonSettings: DaemonSettings }): Swarm {
  return name === 'damselfly' ? damselflyWith({ schedulerSettings: options.schedulerSettings, daemonSettings: options.daemonSettings }) : bittorrent
}
