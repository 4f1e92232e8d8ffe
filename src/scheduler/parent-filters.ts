import type { Peer } from './peer.js'

/** A rule that keeps a candidate from being offered as a parent, named so logs and tests can say why. */
export interface ParentFilter {
  readonly reason: string
  rejects(child: Peer, candidate: Peer): boolean
}

/** Below this many samples the cost rule compares against a multiple of the mean. */
const NORMAL_DISTRIBUTION_SAMPLES = 30
/** With fewer samples than this there is nothing to compare against. */
const MIN_COST_SAMPLES = 2
const SLOW_PIECE_FACTOR = 20
const SIGMA_LIMIT = 3

/**
 * Dragonfly's bad-node rule: the last upload took far longer than the earlier ones did — more than
 * 20 times their mean while few samples exist, beyond mean + 3 sigma once 30 or more do.
 */
export function lastUploadIsAnomalous(costsMs: readonly number[]): boolean {
  if (costsMs.length < MIN_COST_SAMPLES) return false
  const last = costsMs[costsMs.length - 1] ?? 0
  const earlier = costsMs.slice(0, -1)
  const mean = earlier.reduce((sum, cost) => sum + cost, 0) / earlier.length
  if (costsMs.length < NORMAL_DISTRIBUTION_SAMPLES) return last > mean * SLOW_PIECE_FACTOR
  const variance = earlier.reduce((sum, cost) => sum + (cost - mean) ** 2, 0) / earlier.length
  return last > mean + SIGMA_LIMIT * Math.sqrt(variance)
}

export const PARENT_FILTERS = [
  { reason: 'blocklisted', rejects: (child, candidate) => child.blocklist.has(candidate.id) },
  { reason: 'same-host', rejects: (child, candidate) => child.hostId === candidate.hostId },
  { reason: 'distrusted', rejects: (child, candidate) => child.task.distrustedHosts.has(candidate.hostId) },
  { reason: 'sharing-disabled', rejects: (_child, candidate) => candidate.host.info.disableShared },
  { reason: 'not-running', rejects: (_child, candidate) => !candidate.host.connected },
  {
    reason: 'bad-parent',
    rejects: (_child, candidate) =>
      candidate.state === 'failed' || candidate.state === 'left' || lastUploadIsAnomalous(candidate.uploadCostsMs),
  },
  { reason: 'nothing-to-give', rejects: (_child, candidate) => candidate.finishedPieces.size === 0 },
] as const satisfies readonly ParentFilter[]

export type ParentFilterReason = (typeof PARENT_FILTERS)[number]['reason']

/** The first rule that rejects the candidate for this child, or undefined when it may be a parent. */
export function rejectionReason(child: Peer, candidate: Peer): ParentFilterReason | undefined {
  return PARENT_FILTERS.find((filter) => filter.rejects(child, candidate))?.reason
}
