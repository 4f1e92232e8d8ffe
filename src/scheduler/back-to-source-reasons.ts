/**
 * Why a peer fetched from the origin, named at the scheduler's decision points (scheduling.ts)
 * and, for a peer that went on its own, where it said so (peer-events.ts). Documented in
 * docs/manager-api.md; the console shows them as they are.
 */
export const BACK_TO_SOURCE_REASONS = [
  /** A seed peer fetches a task first, for the peers after it. */
  'seed_peer',
  /** No parent, and no seed peer connected to ask. */
  'no_seed_peer',
  /** No parent, and the seed peer asked to fetch the task failed or left. */
  'seed_peer_failed',
  /** No parent after the schedules `retryBackToSourceLimit` allows while a seed peer works. */
  'no_parent',
  /** No parent, and the download's priority 3 fetches from the origin at once. */
  'priority',
  /** The cluster's blocklist refuses the download P2P. */
  'blocklisted',
  /** The peer went to the origin without being told (its parents failed it, or it lost this scheduler). */
  'peer_fallback',
] as const
export type BackToSourceReason = (typeof BACK_TO_SOURCE_REASONS)[number]

/** The index of each reason, for counters kept in a fixed array. */
export const BACK_TO_SOURCE_REASON_INDEX: Readonly<Record<BackToSourceReason, number>> = Object.fromEntries(
  BACK_TO_SOURCE_REASONS.map((reason, index) => [reason, index]),
) as Record<BackToSourceReason, number>
