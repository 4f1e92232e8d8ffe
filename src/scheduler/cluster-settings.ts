import type { Logger } from '../common/logger.js'
import type { ClusterConfig } from '../protocol/generated/damselfly/manager/v1/manager.js'

/** The limits `scheduler.candidateParentLimit` and `filterParentLimit` accept; the manager's cluster config is held to them too. */
export const PARENT_LIMITS = { candidateParentLimit: { min: 1, max: 20 }, filterParentLimit: { min: 1, max: 1000 } } as const

/** What a download names that a blocklist can match. */
export interface BlockableDownload {
  readonly url: string
  readonly application: string
  readonly tag: string
}

interface Blocklist {
  readonly applications: ReadonlySet<string>
  readonly urls: readonly RegExp[]
  readonly tags: ReadonlySet<string>
}

const EMPTY_BLOCKLIST: Blocklist = { applications: new Set(), urls: [], tags: new Set() }

function within(value: number, limits: { min: number; max: number }): boolean {
  return Number.isInteger(value) && value >= limits.min && value <= limits.max
}

/**
 * The scheduling settings a cluster's config at the manager may change while the scheduler runs:
 * the parent limits and the blocklist. Scheduling reads them at every decision, so a change
 * applies to the next one, without a restart. Starts from the scheduler's own config.
 */
export class ClusterSettings {
  private candidateParentLimitValue: number
  private filterParentLimitValue: number
  private blocklist: Blocklist = EMPTY_BLOCKLIST
  /** The cluster's load limits (uploads at once) of seed peers and of other hosts; none until a manager sends them. */
  private loadLimits: { seed: number | undefined; normal: number | undefined } = { seed: undefined, normal: undefined }

  constructor(
    private readonly components: { logger: Logger },
    init: { candidateParentLimit: number; filterParentLimit: number },
  ) {
    this.candidateParentLimitValue = init.candidateParentLimit
    this.filterParentLimitValue = init.filterParentLimit
  }

  /** Parents offered to a peer at most. */
  get candidateParentLimit(): number {
    return this.candidateParentLimitValue
  }

  /** Peers of a task sampled before filtering. */
  get filterParentLimit(): number {
    return this.filterParentLimitValue
  }

  /**
   * Takes the cluster's config from the manager. A value out of range (or 0, unset) keeps the
   * current one, and a URL pattern that is not a regular expression is left out: the manager's
   * API checks both, so either means a manager of another version, worth a warning, not a stop.
   */
  apply(config: ClusterConfig): void {
    const { logger } = this.components
    if (within(config.candidateParentLimit, PARENT_LIMITS.candidateParentLimit)) this.candidateParentLimitValue = config.candidateParentLimit
    else logger.warn({ candidateParentLimit: config.candidateParentLimit }, 'cluster config: candidate_parent_limit out of range; kept the current one')
    if (within(config.filterParentLimit, PARENT_LIMITS.filterParentLimit)) this.filterParentLimitValue = config.filterParentLimit
    else logger.warn({ filterParentLimit: config.filterParentLimit }, 'cluster config: filter_parent_limit out of range; kept the current one')
    const urls: RegExp[] = []
    for (const pattern of config.blocklist?.urls ?? []) {
      try {
        urls.push(new RegExp(pattern))
      } catch (error) {
        logger.warn({ err: error, pattern }, 'cluster config: a blocklist URL pattern is not a regular expression; left out')
      }
    }
    this.loadLimits = { seed: config.seedPeerLoadLimit > 0 ? config.seedPeerLoadLimit : undefined, normal: config.peerLoadLimit > 0 ? config.peerLoadLimit : undefined }
    this.blocklist = {
      applications: new Set(config.blocklist?.applications ?? []),
      urls,
      tags: new Set(config.blocklist?.tags ?? []),
    }
    logger.info(
      { version: config.version, candidateParentLimit: this.candidateParentLimitValue, filterParentLimit: this.filterParentLimitValue, blocklist: config.blocklist },
      'cluster config applied',
    )
  }

  /**
   * The uploads at once a host may be counted on for, at most: the cluster's `load_limit` for
   * seed peers or for other hosts (Dragonfly's seed peer and peer cluster configs). A host that
   * reports a lower limit keeps its own. Undefined until a manager sends the cluster's config.
   */
  uploadLimitCap(seed: boolean): number | undefined {
    return seed ? this.loadLimits.seed : this.loadLimits.normal
  }

  /** Why the cluster's blocklist refuses this download, or undefined when it does not. */
  blockReason(download: BlockableDownload): string | undefined {
    const { applications, urls, tags } = this.blocklist
    if (download.application !== '' && applications.has(download.application)) return `the cluster blocklists application ${JSON.stringify(download.application)}`
    if (download.tag !== '' && tags.has(download.tag)) return `the cluster blocklists tag ${JSON.stringify(download.tag)}`
    const url = urls.find((pattern) => pattern.test(download.url))
    if (url !== undefined) return `the cluster blocklists URLs matching ${JSON.stringify(url.source)}`
    return undefined
  }
}
