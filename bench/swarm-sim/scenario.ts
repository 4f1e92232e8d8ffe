/**
 * What one simulated run is (hosts and their links, the origin, the tasks), what a way of
 * distributing it returns, and builders for the scenarios. A builder is a function of its
 * options alone: the same seed value gives the same hosts, links, arrivals and departures.
 */
import { parseDurationMs } from '../../src/common/units.js'
import { pieceLengthFor } from '../../src/protocol/piece.js'
import { rateBytesPerSecond } from '../testbed/link-rate.js'
import { TBF_LATENCY } from '../testbed/testbed.js'
import type { EventLoop } from './engine.js'
import { lowerBoundMs } from './lower-bound.js'
import type { Links, Network, NetworkOptions } from './network.js'
import { createRandom, deriveSeed, exponential, shuffle, type Random } from './random.js'

export interface SimHost {
  readonly id: number
  readonly links: Links
  /** When the host asks for the tasks (a seed peer: when it joins). */
  readonly arriveAtMs: number
  /** When the host leaves the swarm, whatever it holds; it stays to the end without one. */
  readonly leaveAtMs?: number
  /** A seed peer: it fetches from the origin (Damselfly) or holds every task from the start (BitTorrent's seeder), and wants nothing for itself. */
  readonly seed: boolean
}

export interface SimTask {
  readonly id: string
  readonly sizeBytes: number
  readonly pieceLengthBytes: number
}

export interface Scenario {
  readonly name: string
  /** Seed value of every random choice the swarms make during the run. */
  readonly seed: number
  /** The origin host (HTTP server / registry). */
  readonly origin: { readonly id: number; readonly links: Links }
  /** Every host that wants the tasks, seed peers included (seed: true). */
  readonly hosts: readonly SimHost[]
  /** Each non-seed host downloads every task (an image = several layers). */
  readonly tasks: readonly SimTask[]
  /** Seed peers fetch from the origin over the origin's link unless they sit beside it (testbed: seed in the origin's namespace). */
  readonly seedBesideOrigin: boolean
  /** Wire bytes per payload byte the run's links count (`NetworkOptions.overhead`); 1 when unset. */
  readonly wireOverhead?: number
  /** What a packet waits in front of a saturated link (`NetworkOptions.standingQueueMs`); 0 when unset. */
  readonly standingQueueMs?: number
}

export interface HostResult {
  readonly host: number
  readonly seed: boolean
  /** When the host held every task; undefined when it never did (it left, or the run ended first). */
  readonly finishedAtMs: number | undefined
  readonly left: boolean
  readonly uploadedBytes: number
  readonly downloadedBytes: number
  /** Of `downloadedBytes`, what came from the origin itself. */
  readonly fromOriginBytes: number
}

export interface SwarmResult {
  readonly hosts: readonly HostResult[]
  /** Payload bytes the origin sent (to seed peers beside it too). */
  readonly originEgressBytes: number
  /** Payload bytes seed peers sent. */
  readonly seedEgressBytes: number
  /** Parent decisions the scheduler made (0 for a swarm without one). */
  readonly schedulerDecisions: number
  /** Simulated time at which the run ended. */
  readonly simulatedMs: number
  /** Events the loop ran. */
  readonly events: number
}

/**
 * A way of distributing a scenario's tasks: Damselfly's (real scheduler) or the BitTorrent
 * baseline. `run` receives a loop at time 0 and an empty network built with the scenario's
 * `wireOverhead`; it puts hosts on the network as they arrive (`scheduleMembership` in membership.ts).
 */
export interface Swarm {
  readonly name: string
  run(scenario: Scenario, loop: EventLoop, network: Network): Promise<SwarmResult>
}

/** Links at the same rate both ways. */
export function symmetricLinks(rateBitsPerSecond: number, latencyMs: number): Links {
  const bytesPerMs = rateBitsPerSecond / 8 / 1000
  return { upBytesPerMs: bytesPerMs, downBytesPerMs: bytesPerMs, latencyMs }
}

export const GBIT = 1e9

/** Everything a scenario can vary; each builder below fixes a few of these. */
export interface ScenarioSpec {
  readonly name: string
  readonly seed: number
  /** Hosts that download the tasks, seed peers not counted. */
  readonly hosts: number
  /** Bytes of the whole content; an image's layers split it. */
  readonly sizeBytes: number
  /** Tasks the content is split into (an image's layers); sizes drawn at random. Default 1. */
  readonly layers?: number
  /** Every host's rate both ways, by its index among the downloading hosts. */
  readonly hostRateBitsPerSecond: (index: number) => number
  readonly originRateBitsPerSecond: number
  /** Seed peers' rate both ways when they have links of their own. */
  readonly seedRateBitsPerSecond: number
  readonly seedPeers?: number
  readonly seedBesideOrigin?: boolean
  /** One-way latency of each host's link to the core. Default 0.5 ms (two hosts: 1 ms apart). */
  readonly latencyMs?: number
  /** Hosts arrive uniformly at random over this window; default 0: all at once. */
  readonly arrivalWindowMs?: number
  /** Share of downloading hosts that leave at a random point before they could have finished. Default 0. */
  readonly leavingShare?: number
  /** Piece length of every task; default Damselfly's rule for each task's size. */
  readonly pieceLengthBytes?: number
  readonly wireOverhead?: number
  readonly standingQueueMs?: number
}

const DEFAULT_LATENCY_MS = 0.5
export const ORIGIN_ID = 0

/** Streams of randomness, one per aspect, so changing one aspect of a spec leaves the others' draws alone. */
const STREAM = { rates: 1, arrivals: 2, leaving: 3, layers: 4 } as const

/** Builds a scenario from a full spec: origin 0, seed peers next, then the downloading hosts. */
export function scenario(spec: ScenarioSpec): Scenario {
  const latencyMs = spec.latencyMs ?? DEFAULT_LATENCY_MS
  const seedPeers = spec.seedPeers ?? 1
  const arrivals = createRandom(deriveSeed(spec.seed, STREAM.arrivals))
  const arrivalWindowMs = spec.arrivalWindowMs ?? 0
  const seeds: SimHost[] = Array.from({ length: seedPeers }, (_, index) => ({
    id: ORIGIN_ID + 1 + index,
    links: symmetricLinks(spec.seedRateBitsPerSecond, latencyMs),
    arriveAtMs: 0,
    seed: true,
  }))
  const downloaders: SimHost[] = Array.from({ length: spec.hosts }, (_, index) => ({
    id: ORIGIN_ID + 1 + seedPeers + index,
    links: symmetricLinks(spec.hostRateBitsPerSecond(index), latencyMs),
    arriveAtMs: arrivalWindowMs > 0 ? arrivals() * arrivalWindowMs : 0,
    seed: false,
  }))
  const base: Scenario = {
    name: spec.name,
    seed: spec.seed,
    origin: { id: ORIGIN_ID, links: symmetricLinks(spec.originRateBitsPerSecond, latencyMs) },
    hosts: [...seeds, ...downloaders],
    tasks: splitIntoTasks(spec, createRandom(deriveSeed(spec.seed, STREAM.layers))),
    seedBesideOrigin: spec.seedBesideOrigin ?? false,
    ...(spec.wireOverhead === undefined ? {} : { wireOverhead: spec.wireOverhead }),
    ...(spec.standingQueueMs === undefined ? {} : { standingQueueMs: spec.standingQueueMs }),
  }
  return withLeavingHosts(base, spec.leavingShare ?? 0, createRandom(deriveSeed(spec.seed, STREAM.leaving)))
}

/** `layers` tasks whose sizes add up to `sizeBytes`, uneven as an image's layers are (exponentially distributed shares). */
function splitIntoTasks(spec: ScenarioSpec, random: Random): SimTask[] {
  const layers = spec.layers ?? 1
  const weights = Array.from({ length: layers }, () => exponential(random, 1))
  const totalWeight = weights.reduce((sum, weight) => sum + weight, 0)
  let assignedBytes = 0
  return weights.map((weight, index) => {
    const sizeBytes = index === layers - 1 ? spec.sizeBytes - assignedBytes : Math.max(1, Math.round((spec.sizeBytes * weight) / totalWeight))
    assignedBytes += sizeBytes
    const id = layers === 1 ? `${spec.name}/task` : `${spec.name}/layer-${index}`
    return { id, sizeBytes, pieceLengthBytes: spec.pieceLengthBytes ?? pieceLengthFor(sizeBytes) }
  })
}

/**
 * Picks `share` of the downloading hosts to leave, each at a uniformly random point between 10%
 * and 90% of the way from its arrival to the scenario's lower bound on the last host: before any
 * schedule could have finished it, so it always leaves mid-download.
 */
function withLeavingHosts(base: Scenario, share: number, random: Random): Scenario {
  const downloaders = base.hosts.filter((host) => !host.seed)
  const leaving = Math.round(downloaders.length * share)
  if (leaving === 0) return base
  const chosen = new Set(shuffle(random, downloaders.map((host) => host.id)).slice(0, leaving))
  const boundMs = lowerBoundMs(base)
  return {
    ...base,
    hosts: base.hosts.map((host) => {
      if (!chosen.has(host.id)) return host
      const windowMs = Math.max(0, boundMs - host.arriveAtMs)
      return { ...host, leaveAtMs: host.arriveAtMs + (0.1 + 0.8 * random()) * windowMs }
    }),
  }
}

/** Allocations per piece time: the network's quantum is this fraction of the quickest a piece can move. */
const ALLOCATIONS_PER_PIECE_TIME = 16

/**
 * How to build the network for a scenario: its wire overhead, and a recompute quantum of a
 * sixteenth of the time the smallest whole piece takes on the median host's downlink (1 MiB at
 * 1 Gbit/s: 0.52 ms; 8 MiB: 4.2 ms). A flow starts at most one quantum late and a freed share
 * idles at most one quantum, so a piece moving alone at full rate is late by at most a
 * sixteenth of its time; pieces sharing a link take longer and lose less. The quantum scales
 * with the piece time, so allocations per simulated piece stay the same at every size and rate.
 *
 * A task shorter than one piece (an image's small layer) does not set it: its one piece may be a
 * quantum late once per host, while the quantum sets how often the whole network is allocated. The
 * 53 KB layer that image-layers x 256 MiB draws would make it a nineteenth of the 1 MiB pieces'.
 */
export function networkOptionsFor(run: Scenario): NetworkOptions {
  const downlinks = run.hosts.filter((host) => !host.seed).map((host) => host.links.downBytesPerMs).sort((a, b) => a - b)
  const medianDownBytesPerMs = downlinks[Math.floor(downlinks.length / 2)] ?? run.origin.links.upBytesPerMs
  const overhead = run.wireOverhead ?? 1
  return { recomputeQuantumMs: (quantumPieceBytes(run.tasks) * overhead) / medianDownBytesPerMs / ALLOCATIONS_PER_PIECE_TIME, overhead, standingQueueMs: run.standingQueueMs ?? 0 }
}

/** The smallest piece length of the tasks holding a whole piece; the largest task when none does. */
export function quantumPieceBytes(tasks: readonly SimTask[]): number {
  const whole = tasks.filter((task) => task.sizeBytes >= task.pieceLengthBytes).map((task) => task.pieceLengthBytes)
  return whole.length > 0 ? Math.min(...whole) : Math.max(...tasks.map((task) => task.sizeBytes))
}

/** Options every named builder takes. */
export interface ScenarioOptions {
  readonly hosts: number
  readonly sizeBytes: number
  /** Default 1. */
  readonly seed?: number
  readonly seedPeers?: number
  readonly latencyMs?: number
  readonly pieceLengthBytes?: number
}

function common(options: ScenarioOptions): Pick<ScenarioSpec, 'hosts' | 'sizeBytes' | 'seed'> & Partial<ScenarioSpec> {
  return {
    hosts: options.hosts,
    sizeBytes: options.sizeBytes,
    seed: options.seed ?? 1,
    ...(options.seedPeers === undefined ? {} : { seedPeers: options.seedPeers }),
    ...(options.latencyMs === undefined ? {} : { latencyMs: options.latencyMs }),
    ...(options.pieceLengthBytes === undefined ? {} : { pieceLengthBytes: options.pieceLengthBytes }),
  }
}

/** Every link (hosts, seed peer, origin) at one rate both ways. */
export function equalLinks(options: ScenarioOptions & { readonly rateBitsPerSecond: number }): Scenario {
  return withEqualLinks('equal-links', options, {})
}

/** The mix: hosts at 1, 10 and 25 Gbit/s in equal shares (shuffled); origin and seed peer at 10 Gbit/s. */
export function heterogeneousLinks(options: ScenarioOptions & { readonly ratesBitsPerSecond?: readonly number[]; readonly originRateBitsPerSecond?: number }): Scenario {
  const rates = options.ratesBitsPerSecond ?? [1 * GBIT, 10 * GBIT, 25 * GBIT]
  const originRate = options.originRateBitsPerSecond ?? 10 * GBIT
  const random = createRandom(deriveSeed(options.seed ?? 1, STREAM.rates))
  const assigned = shuffle(random, Array.from({ length: options.hosts }, (_, index) => rates[index % rates.length] as number))
  return scenario({
    ...common(options),
    name: 'heterogeneous-links',
    hostRateBitsPerSecond: (index) => assigned[index] as number,
    originRateBitsPerSecond: originRate,
    seedRateBitsPerSecond: originRate,
  })
}

/** Equal links but for a slow tail: `slowShare` of the hosts (default 10%), chosen at random, at `slowFactor` of the rate (default a tenth). */
export function slowTail(options: ScenarioOptions & { readonly rateBitsPerSecond: number; readonly slowShare?: number; readonly slowFactor?: number }): Scenario {
  const rate = options.rateBitsPerSecond
  const random = createRandom(deriveSeed(options.seed ?? 1, STREAM.rates))
  const slow = new Set(shuffle(random, Array.from({ length: options.hosts }, (_, index) => index)).slice(0, Math.round(options.hosts * (options.slowShare ?? 0.1))))
  const slowRate = rate * (options.slowFactor ?? 0.1)
  return scenario({
    ...common(options),
    name: 'slow-tail',
    hostRateBitsPerSecond: (index) => (slow.has(index) ? slowRate : rate),
    originRateBitsPerSecond: rate,
    seedRateBitsPerSecond: rate,
  })
}

/** Equal links, hosts arriving uniformly at random over `arrivalWindowMs` (default 30 s) instead of at once. */
export function spreadArrivals(options: ScenarioOptions & { readonly rateBitsPerSecond: number; readonly arrivalWindowMs?: number }): Scenario {
  return withEqualLinks('spread-arrivals', options, { arrivalWindowMs: options.arrivalWindowMs ?? 30_000 })
}

/** Equal links, `leavingShare` of the hosts (default 5%) leaving at a random point mid-download. */
export function leavingHosts(options: ScenarioOptions & { readonly rateBitsPerSecond: number; readonly leavingShare?: number }): Scenario {
  return withEqualLinks('leaving-hosts', options, { leavingShare: options.leavingShare ?? 0.05 })
}

/** Equal links, the content split into `layers` tasks (default 10) that every host fetches at once, as an image's layers. */
export function imageLayers(options: ScenarioOptions & { readonly rateBitsPerSecond: number; readonly layers?: number }): Scenario {
  return withEqualLinks('image-layers', options, { layers: options.layers ?? 10 })
}

function withEqualLinks(name: string, options: ScenarioOptions & { readonly rateBitsPerSecond: number }, extra: Partial<ScenarioSpec>): Scenario {
  const rate = options.rateBitsPerSecond
  return scenario({
    ...common(options),
    ...extra,
    name,
    hostRateBitsPerSecond: () => rate,
    originRateBitsPerSecond: rate,
    seedRateBitsPerSecond: rate,
  })
}

/**
 * bench/testbed's network: every link (hosts' and origin's) shaped to one tc rate both ways, the
 * origin and one seed peer in the origin's namespace sharing its link, and Damselfly's piece
 * length for the size (1 MiB for 64 MiB and 256 MiB). The veth pairs add next to no latency.
 * tc counts whole Ethernet frames: a full TCP segment carries 1448 payload bytes (MTU 1500
 * less IP, TCP and timestamp headers) in a 1514-byte frame, so payload moves at 1448/1514 of the rate.
 * Each link's tbf queues up to its `latency` (100 ms) of data in FIFO order, and the TCP flows of a
 * saturated link keep that queue full: messages and a piece's first bytes wait behind it.
 */
export function testbedLike(options: {
  readonly hosts: number
  readonly sizeBytes: number
  /** Every link's rate as tc and bench/testbed's `--host-rate` write it: `100mbit`, `1gbit`. */
  readonly rate: string
  readonly seed?: number
}): Scenario {
  const rate = rateBytesPerSecond(options.rate) * 8
  return scenario({
    name: 'testbed-like',
    seed: options.seed ?? 1,
    hosts: options.hosts,
    sizeBytes: options.sizeBytes,
    hostRateBitsPerSecond: () => rate,
    originRateBitsPerSecond: rate,
    seedRateBitsPerSecond: rate,
    seedBesideOrigin: true,
    latencyMs: TESTBED_LATENCY_MS,
    wireOverhead: TESTBED_WIRE_OVERHEAD,
    standingQueueMs: parseDurationMs(TBF_LATENCY),
  })
}

/** One veth hop through the hub's bridge, each way. */
const TESTBED_LATENCY_MS = 0.05
export const TESTBED_WIRE_OVERHEAD = 1514 / 1448
