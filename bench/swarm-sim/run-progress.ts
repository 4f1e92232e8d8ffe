/**
 * Which hosts of a run are done, the moment the last one is (the loop stops then: a swarm's
 * periodic timers would run forever), and the run's `SwarmResult`, the same way for every swarm.
 */
import type { EventLoop } from './engine.js'
import type { Network } from './network.js'
import type { HostResult, Scenario, SwarmResult } from './scenario.js'

export class RunProgress {
  private readonly finishedAtMs = new Map<number, number>()
  private readonly leftHosts = new Set<number>()
  private readonly fromOrigin = new Map<number, number>()
  private readonly seeds: ReadonlySet<number>
  /** Downloading hosts neither done nor gone; the run is over at 0. */
  private outstanding: number

  constructor(private readonly components: { scenario: Scenario; loop: EventLoop; network: Network }) {
    this.seeds = new Set(components.scenario.hosts.filter((host) => host.seed).map((host) => host.id))
    this.outstanding = components.scenario.hosts.length - this.seeds.size
  }

  get allDone(): boolean {
    return this.outstanding === 0
  }

  isFinished(host: number): boolean {
    return this.finishedAtMs.has(host)
  }

  /** Records that `host` holds every task now; the last downloading host to do so stops the loop. Repeats are ignored. */
  finished(host: number): void {
    if (this.finishedAtMs.has(host) || this.leftHosts.has(host)) return
    this.finishedAtMs.set(host, this.components.loop.nowMs)
    if (!this.seeds.has(host)) this.countDown()
  }

  /** Records that `host` left the swarm; one that left before it finished never will. */
  left(host: number): void {
    if (this.leftHosts.has(host)) return
    this.leftHosts.add(host)
    if (!this.seeds.has(host) && !this.finishedAtMs.has(host)) this.countDown()
  }

  /** Counts payload bytes `host` received from the origin itself. */
  addFromOrigin(host: number, bytes: number): void {
    this.fromOrigin.set(host, (this.fromOrigin.get(host) ?? 0) + bytes)
  }

  result(init: { schedulerDecisions: number }): SwarmResult {
    const { scenario, loop, network } = this.components
    const hosts: HostResult[] = scenario.hosts.map((host) => ({
      host: host.id,
      seed: host.seed,
      finishedAtMs: this.finishedAtMs.get(host.id),
      left: this.leftHosts.has(host.id),
      // A host the run ended before was never on the network: it moved nothing.
      uploadedBytes: network.wasAdded(host.id) ? network.uploadedBytes(host.id) : 0,
      downloadedBytes: network.wasAdded(host.id) ? network.downloadedBytes(host.id) : 0,
      fromOriginBytes: this.fromOrigin.get(host.id) ?? 0,
    }))
    return {
      hosts,
      originEgressBytes: network.uploadedBytes(scenario.origin.id),
      seedEgressBytes: hosts.filter((host) => host.seed).reduce((sum, host) => sum + host.uploadedBytes, 0),
      schedulerDecisions: init.schedulerDecisions,
      simulatedMs: loop.nowMs,
      events: loop.eventsRun,
    }
  }

  private countDown(): void {
    this.outstanding--
    if (this.outstanding === 0) this.components.loop.stop()
  }
}
