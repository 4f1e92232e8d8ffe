import type { Peer } from './peer.js'

/** A rule that keeps a candidate from being offered as a parent, named so logs and tests can say why. */
export interface ParentFilter {
  readonly reason: string
  rejects(child: Peer, candidate: Peer): boolean
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
      candidate.state === 'failed' || candidate.state === 'left' || candidate.uploadCosts.lastIsAnomalous(),
  },
  { reason: 'nothing-to-give', rejects: (_child, candidate) => candidate.finishedPieces.size === 0 },
] as const satisfies readonly ParentFilter[]

export type ParentFilterReason = (typeof PARENT_FILTERS)[number]['reason']

/** The first rule that rejects the candidate for this child, or undefined when it may be a parent. */
export function rejectionReason(child: Peer, candidate: Peer): ParentFilterReason | undefined {
  return PARENT_FILTERS.find((filter) => filter.rejects(child, candidate))?.reason
}
