/** Hosts joining and leaving the simulated network on the scenario's schedule, the same for every swarm. */
import type { EventLoop } from './engine.js'
import type { Network } from './network.js'
import type { Scenario, SimHost } from './scenario.js'

/**
 * Puts a scenario's hosts on the network as they arrive and takes them off as they leave: the
 * origin at once, each host at its `arriveAtMs` (a seed peer beside the origin shares the
 * origin's links). `leave` is told before the network ends the leaving host's transfers, so a
 * swarm knows why they fail. Hosts arriving at the same time arrive in the scenario's order.
 */
export function scheduleMembership(
  scenario: Scenario,
  loop: EventLoop,
  network: Network,
  handlers: { readonly arrive: (host: SimHost) => void; readonly leave: (host: SimHost) => void },
): void {
  network.addHost(scenario.origin.id, scenario.origin.links)
  for (const host of scenario.hosts) {
    loop.at(host.arriveAtMs, () => {
      if (host.seed && scenario.seedBesideOrigin) network.addHostBeside(host.id, scenario.origin.id)
      else network.addHost(host.id, host.links)
      handlers.arrive(host)
    })
    if (host.leaveAtMs !== undefined) {
      loop.at(host.leaveAtMs, () => {
        handlers.leave(host)
        network.removeHost(host.id)
      })
    }
  }
}
