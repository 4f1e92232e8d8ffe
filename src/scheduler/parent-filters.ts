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
  { reason: 'seed-kept-for-faster-children', rejects: (child, candidate) => keptFromFetchingSeed(child, candidate) },
] as const satisfies readonly ParentFilter[]

/** How much slower than the reference (see keptFromFetchingSeed) a child's uplink may be and still draw on a fetching seed. */
export const FETCHING_SEED_CHILD_UPLOAD_FACTOR = 4

/**
 * A seed peer still fetching the task is the only source of its fresh pieces, and each piece it
 * sends goes on from the child that took it to the rest of the swarm. A child whose uplink is
 * less than a quarter of both the seed's and the task's fastest child's would pass its pieces on
 * slowly while faster children wait for them, and then draw them from the seed a second time: it
 * takes its pieces from the children that drew on the seed instead. The fastest children always
 * may (the reference is at most theirs), hosts that do not say their capacity are never kept away,
 * nor anyone from a seed that does not say its own, and a seed that has finished is a parent like any other.
 * Nor is another seed peer: it waits for the fetching one to take the task from it (Scheduling's
 * seed wait, so the origin sends each byte once), which it could not do if it were kept away.
 */
export function keptFromFetchingSeed(child: Peer, candidate: Peer): boolean {
  if (!candidate.host.seed || (candidate.state !== 'running' && candidate.state !== 'back-to-source')) return false
  if (child.host.seed) return false
  const childUpload = child.host.load.uploadCapacityBytesPerSecond
  if (childUpload === 0) return false
  // A seed that does not say its capacity keeps nobody away: the reference would be the fastest
  // child's word alone, and one host announcing an absurd capacity would keep every other off it.
  const seedUpload = candidate.host.load.uploadCapacityBytesPerSecond
  if (seedUpload === 0) return false
  return childUpload * FETCHING_SEED_CHILD_UPLOAD_FACTOR < Math.min(seedUpload, child.task.fastestChildUploadBytesPerSecond())
}

export type ParentFilterReason = (typeof PARENT_FILTERS)[number]['reason']

/** The first rule that rejects the candidate for this child, or undefined when it may be a parent. */
export function rejectionReason(child: Peer, candidate: Peer): ParentFilterReason | undefined {
  return PARENT_FILTERS.find((filter) => filter.rejects(child, candidate))?.reason
}
