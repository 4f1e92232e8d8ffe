import type { HostId, TaskId } from '../protocol/ids.js'
import { normalizeIp } from '../security/identity.js'
import { seedHostFor } from './seed-selection.js'

/** Which hosts a manager's job may run on, before the `hosts` filter and the count or percentage. */
export const SELECTION_SCOPES = ['single-seed-peer', 'all-seed-peers', 'all-peers'] as const
export type SelectionScope = (typeof SELECTION_SCOPES)[number]

/** A job's host selection, as RunDownloads' `HostSelection` says it once checked. */
export interface HostSelectionRule {
  readonly scope: SelectionScope
  /** Host ids, IPs or hostnames; empty for no such filter. */
  readonly hosts: readonly string[]
  /** Of the hosts left, keep this many; 0 for all. Ignored for single-seed-peer (one host per download already). */
  readonly count: number
  /** Of the hosts left, keep this percentage, rounded up; 0 for all. Ignored for single-seed-peer. */
  readonly percentage: number
}

/** What the selection needs to know of a host with an open announce stream. */
export interface SelectableHost {
  readonly id: HostId
  readonly ip: string
  readonly hostname: string
  readonly seed: boolean
}

export interface HostSelectionResult<H> {
  /** Per download, in the request's order, the hosts it runs on, by host id. */
  readonly hostsByDownload: ReadonlyArray<readonly H[]>
  /** Every host some download runs on, by host id. */
  readonly hosts: readonly H[]
  /** Names of `rule.hosts` that no host of the scope matched, once each, in the order listed. */
  readonly unmatched: readonly string[]
}

const NONE: ReadonlySet<HostId> = new Set()

function byId(a: SelectableHost, b: SelectableHost): number {
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0
}

/** A host is named by its id (what a rerun names: several hosts may share an address), its hostname or its IP. */
function named(host: SelectableHost, name: string): boolean {
  return name === host.id || name === host.hostname || normalizeIp(name) === normalizeIp(host.ip)
}

/** The first `count`, or the first `percentage` per cent rounded up, of `hosts`; all of them when both are 0. */
function limited<H>(hosts: readonly H[], rule: HostSelectionRule): readonly H[] {
  if (rule.count > 0) return hosts.slice(0, rule.count)
  if (rule.percentage > 0) return hosts.slice(0, Math.ceil((hosts.length * rule.percentage) / 100))
  return hosts
}

/**
 * The hosts each download of a job runs on, among `connected`. Seed scopes keep seed hosts only;
 * then `rule.hosts` keeps those whose id, IP or hostname is listed; then the count or percentage keeps
 * the first ones by host id, so the same inputs always give the same hosts. For single-seed-peer,
 * each download gets the seed the scheduler would ask to fetch its task (rendezvous hashing over
 * the seeds left, without those `distrustedFor` the task). Pure: no I/O, no randomness.
 */
export function selectHosts<H extends SelectableHost>(
  connected: readonly H[],
  rule: HostSelectionRule,
  taskIds: readonly TaskId[],
  distrustedFor: (taskId: TaskId) => ReadonlySet<HostId> = () => NONE,
): HostSelectionResult<H> {
  const inScope = connected.filter((host) => rule.scope === 'all-peers' || host.seed).sort(byId)
  const names = [...new Set(rule.hosts)]
  const listed = names.length === 0 ? inScope : inScope.filter((host) => names.some((name) => named(host, name)))
  const unmatched = names.filter((name) => !inScope.some((host) => named(host, name)))
  let hostsByDownload: ReadonlyArray<readonly H[]>
  if (rule.scope === 'single-seed-peer') {
    hostsByDownload = taskIds.map((taskId) => {
      const distrusted = distrustedFor(taskId)
      const seed = seedHostFor(taskId, listed.filter((host) => !distrusted.has(host.id)))
      return seed === undefined ? [] : [seed]
    })
  } else {
    const kept = limited(listed, rule)
    hostsByDownload = taskIds.map(() => kept)
  }
  const hosts = [...new Set(hostsByDownload.flat())].sort(byId)
  return { hostsByDownload, hosts, unmatched }
}
