/**
 * The fluid lower bound on a run: no schedule, however clever, has its last host done sooner.
 * The issue's `max(S/u_origin, S/d_min, N·S/(u_origin + Σu))`, for the run's own links:
 *
 * - N counts the hosts that finish: downloading hosts that never leave. Seed peers want nothing,
 *   and a host that leaves is never done.
 * - u_origin is the origin's uplink. Every byte leaves it at least once (for BitTorrent, whose
 *   seeder holds the file, read the seeder's; the builders give both the same rate, or put the
 *   seeder on the origin's link).
 * - Σu adds the uplinks of every host that may send: downloading hosts (those that leave too,
 *   while they stay) and seed peers with links of their own; a seed peer beside the origin
 *   sends over the origin's uplink, already counted.
 * - d_min is the smallest downlink among the hosts that finish.
 * - Arrivals: a host arriving at a cannot be done before a + S/d, so the bound also takes the
 *   largest of those over the hosts that finish; with every host there at 0 it is S/d_min.
 *
 * Rates are the nominal link rates, wire overhead left out, as bench/testbed divides the payload
 * by the tc rate. Times are from 0, the start of the run, in ms. S is one task's size, or the sum of all tasks'
 * when the bound is for the whole content (an image: every layer).
 */
import type { Scenario, SimHost, SimTask } from './scenario.js'

export interface LowerBoundTerms {
  /** The largest term. */
  readonly boundMs: number
  /** S / u_origin. */
  readonly originUploadMs: number
  /** max over finishing hosts of (arrival + S / d): S / d_min when every host is there at 0. */
  readonly hostDownloadMs: number
  /** N·S / (u_origin + Σu). */
  readonly aggregateUploadMs: number
}

/** The terms of the bound for one task, or for every task together when `task` is left out. */
export function lowerBoundTerms(scenario: Scenario, task?: SimTask): LowerBoundTerms {
  const sizeBytes = contentBytes(scenario, task)
  const finishing = finishingHosts(scenario)
  const originUpBytesPerMs = scenario.origin.links.upBytesPerMs
  const sendingUpBytesPerMs = scenario.hosts
    .filter((host) => !(host.seed && scenario.seedBesideOrigin))
    .reduce((sum, host) => sum + host.links.upBytesPerMs, 0)
  const originUploadMs = sizeBytes / originUpBytesPerMs
  const hostDownloadMs = Math.max(0, ...finishing.map((host) => host.arriveAtMs + sizeBytes / host.links.downBytesPerMs))
  const aggregateUploadMs = (finishing.length * sizeBytes) / (originUpBytesPerMs + sendingUpBytesPerMs)
  return { boundMs: Math.max(originUploadMs, hostDownloadMs, aggregateUploadMs), originUploadMs, hostDownloadMs, aggregateUploadMs }
}

/** The bound on the last host's time, in ms from the start of the run. */
export function lowerBoundMs(scenario: Scenario, task?: SimTask): number {
  return lowerBoundTerms(scenario, task).boundMs
}

/**
 * One host's own bound: it cannot be done before it arrived and received S over its downlink,
 * nor before every byte left the origin: `max(S/u_origin, arrival + S/d_host)`, in ms from the
 * start of the run. (The aggregate term bounds only the last host.)
 */
export function hostLowerBoundMs(scenario: Scenario, host: SimHost, task?: SimTask): number {
  const sizeBytes = contentBytes(scenario, task)
  return Math.max(sizeBytes / scenario.origin.links.upBytesPerMs, host.arriveAtMs + sizeBytes / host.links.downBytesPerMs)
}

function contentBytes(scenario: Scenario, task: SimTask | undefined): number {
  return task === undefined ? scenario.tasks.reduce((sum, each) => sum + each.sizeBytes, 0) : task.sizeBytes
}

function finishingHosts(scenario: Scenario): SimHost[] {
  return scenario.hosts.filter((host) => !host.seed && host.leaveAtMs === undefined)
}
