/**
 * Figures derived from a round's measurements, and the sentences the report may say about them:
 * every sentence is chosen by the numbers, so a report never claims what its run did not show.
 */
import { rateBytesPerSecond } from './link-rate.js'
import type { RoundResult } from './proving-ground.js'

const BYTES_PER_GIB = 1024 ** 3
/** At or above this share of all cores busy during the fetches, a round's time is called CPU-bound. */
export const CPU_BOUND_BUSY_SHARE = 0.9
/** Below this share of all cores busy during the fetches, the cores are called mostly idle. */
export const IDLE_BUSY_SHARE = 0.25
/** At or above this share of its rate sent until the last host was done, the origin's link is called saturated. */
export const LINK_SATURATED_SHARE = 0.95
/** At or above this share of all cores busy but not charged to the round's processes, the report says so. */
const NOTABLE_UNCHARGED_SHARE = 0.15

/** How busy the machine was during a round's fetches, in three bands. */
export type CpuLoad = 'idle' | 'busy' | 'cpu-bound'

/** What the report may say set a round's pace: the origin's link when it was saturated, else the CPU's band. */
export type Pace = 'origin-link' | CpuLoad

/** Time until the last host held the file, counted from the start of the round's first process. */
export function lastIncludingStartupMs(round: Pick<RoundResult, 'startupMs' | 'lastDoneMs'>): number {
  return round.startupMs + round.lastDoneMs
}

/** CPU seconds per GiB delivered to all hosts together; undefined when the CPU time is unknown. */
export function cpuSecondsPerGiB(cpuMs: number | undefined, init: { hosts: number; sizeBytes: number }): number | undefined {
  if (cpuMs === undefined) return undefined
  const deliveredGiB = (init.hosts * init.sizeBytes) / BYTES_PER_GIB
  return deliveredGiB > 0 ? cpuMs / 1000 / deliveredGiB : undefined
}

/** The CPU time of a round's processes and the origin, start-up included; undefined when either part is unknown. */
export function roundCpuMs(round: Pick<RoundResult, 'startupCpuMs' | 'fetchCpuMs'>): number | undefined {
  return round.startupCpuMs === undefined || round.fetchCpuMs === undefined ? undefined : round.startupCpuMs + round.fetchCpuMs
}

export function cpuLoad(machineBusyShare: number): CpuLoad {
  if (machineBusyShare >= CPU_BOUND_BUSY_SHARE) return 'cpu-bound'
  return machineBusyShare < IDLE_BUSY_SHARE ? 'idle' : 'busy'
}

/** Share of its nominal rate the origin's link sent from the fetches' start until the last host was done (may pass 1 by tbf's burst). */
export function originLinkBusyShare(round: Pick<RoundResult, 'originLinkBytes' | 'lastDoneMs'>, spec: { originRate: string }): number {
  return round.originLinkBytes / (rateBytesPerSecond(spec.originRate) * (round.lastDoneMs / 1000))
}

export function pace(machineBusyShare: number, originLinkShare: number): Pace {
  return originLinkShare >= LINK_SATURATED_SHARE ? 'origin-link' : cpuLoad(machineBusyShare)
}

export function percent(share: number): string {
  return `${(share * 100).toFixed(0)}%`
}

/**
 * One sentence on the machine's load during a round's fetches, or undefined without a measurement.
 * "Idle" and "CPU-bound" are said only inside their bands, and never CPU-bound while the origin's
 * link was saturated; in between, the report gives the figure and says what it cannot rule out.
 */
export function cpuLoadSentence(
  round: Pick<RoundResult, 'machineBusyShare' | 'scenarioBusyShare'>,
  init: { cores: number; originLinkShare: number },
): string | undefined {
  const machine = round.machineBusyShare
  if (machine === undefined) return undefined
  const own = round.scenarioBusyShare
  const ownPart = own === undefined ? '' : ` (this scenario's processes and the origin ${percent(own)})`
  const uncharged = own === undefined ? 0 : machine - own
  const unchargedPart =
    uncharged >= NOTABLE_UNCHARGED_SHARE
      ? `; ${percent(uncharged)} was not charged to them (packet forwarding in the kernel, the bench itself or other work on the machine)`
      : ''
  const opening = `the machine was ${percent(machine)} busy during the fetches${ownPart}${unchargedPart}`
  switch (pace(machine, init.originLinkShare)) {
    case 'origin-link':
      return `${opening}, but the origin's link was ${percent(init.originLinkShare)} busy sending: the link, not the CPU, set the pace`
    case 'cpu-bound':
      return `${opening}: CPU-bound, so this time says as much about the ${init.cores} cores as about the links`
    case 'idle':
      return `${opening}: the cores were mostly idle`
    case 'busy':
      return `${opening}: not saturated, though one process busy on a single core could still have set the pace`
  }
}

/** `a / b` as "0.72x"; undefined when either is missing or b is not positive. */
export function ratioText(a: number | undefined, b: number | undefined): string | undefined {
  return a === undefined || b === undefined || b <= 0 ? undefined : `${(a / b).toFixed(2)}x`
}
