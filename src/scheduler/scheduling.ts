import type { Clock } from '../common/clock.js'
import type { Logger } from '../common/logger.js'
import type { BackToSourceReason } from './back-to-source-reasons.js'
import type { Evaluator } from './evaluator.js'
import type { Host } from './host.js'
import { rejectionReason } from './parent-filters.js'
import type { Peer } from './peer.js'
import { seedHostFor } from './seed-selection.js'

/**
 * Read at every decision, not copied: the parent limits may be a holder the cluster config from
 * the manager changes while the scheduler runs (cluster-settings.ts).
 */
export interface SchedulingInit {
  /** Parents offered to a peer at most. */
  readonly candidateParentLimit: number
  /** Peers of the task sampled at random before filtering. */
  readonly filterParentLimit: number
  /** Failed schedules after which a peer that may is sent back to source even while a seed works. */
  readonly retryBackToSourceLimit: number
  /** Failed schedules after which a peer that may not go back to source is given up on. */
  readonly retryLimit: number
  /** Peers of one task fetching from the source at once, at most (seed peers are not held back). */
  readonly backToSourceCount: number
  /**
   * How long waiting peers wait for a seed peer asked to fetch the task before the schedule
   * limits apply: the seed needs a moment to get its first piece, and sending everyone back to
   * source meanwhile is what P2P is there to avoid.
   */
  readonly seedWaitTimeoutMs: number
}

/**
 * What to tell a peer. `retry` means: ask again after the retry interval; when `seedHost` is set,
 * first ask that host to fetch the task from the source.
 */
export type ScheduleDecision =
  | { readonly kind: 'empty-task' }
  | { readonly kind: 'tiny-task'; readonly content: Buffer }
  | { readonly kind: 'parents'; readonly parents: readonly Peer[] }
  | { readonly kind: 'back-to-source'; readonly reason: string; readonly code: BackToSourceReason }
  | { readonly kind: 'failed'; readonly reason: string }
  | { readonly kind: 'retry'; readonly seedHost: Host | undefined }

/** Picks parents for a peer, or decides what it does without any, by Dragonfly's priority rules. */
export class Scheduling {
  constructor(
    private readonly components: {
      evaluator: Evaluator
      /** Uniform in [0, 1); injected so tests are repeatable. */
      random: () => number
      clock: Clock
      connectedSeedHosts: () => readonly Host[]
      logger: Logger
      /** Why the cluster refuses to schedule this download (its blocklist), or undefined. */
      blockReason?: (download: Peer['download']) => string | undefined
    },
    private readonly init: SchedulingInit,
  ) {}

  /**
   * Decides for one peer and applies the decision to the resource model: DAG edges, the peer's
   * state and failed-schedule count, and the task's seed request. Adds parents to those the peer
   * has: a daemon keeps the parents it was offered (ParentOffers) until one fails it, and the
   * scheduler keeps telling it of their pieces. The parents the filters now reject (blocklisted,
   * gone) are dropped. A peer that keeps parents but finds no new one goes on with those it has,
   * and is offered more once some appear (`retry`, without counting a failed schedule).
   */
  schedule(peer: Peer): ScheduleDecision {
    const blocked = this.components.blockReason?.(peer.download)
    if (blocked !== undefined) return this.refuse(peer, blocked)
    const task = peer.task
    if (task.contentLengthBytes === 0) {
      peer.state = 'succeeded'
      return { kind: 'empty-task' }
    }
    if (task.tinyContent !== undefined && !peer.host.seed) {
      peer.state = 'succeeded'
      return { kind: 'tiny-task', content: task.tinyContent }
    }
    this.dropRejectedParents(peer)
    const parents = this.findParents(peer)
    if (parents.length > 0) return this.adopt(peer, parents)
    if (task.graph.parentCount(peer.id) > 0) {
      peer.state = 'running'
      return { kind: 'retry', seedHost: undefined }
    }
    return this.withoutParents(peer)
  }

  /** Offers parents only if there are some; otherwise changes nothing. For waking a waiting peer early. */
  scheduleIfParents(peer: Peer): ScheduleDecision | undefined {
    if (peer.task.contentLengthBytes === 0 || peer.task.tinyContent !== undefined) return this.schedule(peer)
    const parents = this.findParents(peer)
    if (parents.length === 0) return undefined
    this.dropRejectedParents(peer)
    return this.adopt(peer, parents)
  }

  /**
   * The best parents of a random sample of the task's other peers that are not its parents
   * already, best first. Does not change anything. O(sample), however many peers the task has.
   */
  findParents(peer: Peer): Peer[] {
    const accepted: Peer[] = []
    for (const candidate of peer.task.peerList.sample(this.init.filterParentLimit, this.components.random, peer)) {
      if (peer.task.graph.hasEdge(candidate.id, peer.id)) continue
      const reason = rejectionReason(peer, candidate)
      if (reason === undefined) accepted.push(candidate)
      else this.components.logger.trace({ peerId: peer.id, candidate: candidate.id, reason }, 'parent filtered')
    }
    const total = peer.task.pieceCount
    return accepted
      .map((candidate) => ({ candidate, score: this.components.evaluator.score(peer, candidate, total) }))
      .sort((a, b) => b.score - a.score)
      .slice(0, this.init.candidateParentLimit)
      .map(({ candidate }) => candidate)
  }

  /** Drops the peer's parents that may no longer be its parents (rejectionReason). */
  private dropRejectedParents(peer: Peer): void {
    const { task } = peer
    for (const parentId of task.graph.parentsOf(peer.id)) {
      const parent = task.peers.get(parentId)
      if (parent === undefined || rejectionReason(peer, parent) !== undefined) task.graph.deleteEdge(parentId, peer.id)
    }
  }

  private adopt(peer: Peer, parents: readonly Peer[]): ScheduleDecision {
    const adopted = parents.filter((parent) => peer.task.graph.addEdge(parent.id, peer.id))
    if (adopted.length === 0) return this.withoutParents(peer)
    peer.state = 'running'
    peer.failedScheduleCount = 0
    return { kind: 'parents', parents: adopted }
  }

  private withoutParents(peer: Peer): ScheduleDecision {
    const task = peer.task
    const attempts = ++peer.failedScheduleCount
    const priority = peer.priority
    const giveUpOrRetry = (reason: string): ScheduleDecision =>
      attempts >= this.init.retryLimit ? this.fail(peer, reason) : { kind: 'retry', seedHost: undefined }

    if (priority === 1) return this.fail(peer, 'forbidden')
    if (peer.host.seed) {
      // Another seed peer fetching the task has pieces in a moment (a preheat asks every seed peer
      // at once): this one takes them from it, so the origin sends each byte once, unless that
      // takes longer than waiting peers wait for a seed.
      const waitedMs = this.components.clock.nowMs() - peer.registeredMs
      if (task.seedPeerFetching(peer) && waitedMs < this.init.seedWaitTimeoutMs) return { kind: 'retry', seedHost: undefined }
      return this.backToSource(peer, 'seed_peer', 'a seed peer fetches from the source')
    }
    const mayBackToSource = !peer.download.disableBackToSource && priority !== 2
    if (!mayBackToSource && priority === 2) return giveUpOrRetry('no parent, and priority 2 forbids back-to-source')
    const capReached = task.backToSourcePeerCount >= this.init.backToSourceCount
    const noParentReason = mayBackToSource
      ? `no parent, and ${task.backToSourcePeerCount} peers already fetch from the source`
      : 'no parent, and back-to-source is disabled'
    if (priority === 3) {
      return mayBackToSource && !capReached ? this.backToSource(peer, 'priority', 'no parent; priority 3 fetches from the source') : giveUpOrRetry(noParentReason)
    }

    const seedHosts = this.components.connectedSeedHosts().filter((host) => !task.distrustedHosts.has(host.id))
    let seedHost: Host | undefined
    if (seedHosts.length > 0 && !task.hasSeedPeer && task.seedRequestedMs === undefined) {
      seedHost = seedHostFor(task.id, seedHosts)
      if (seedHost !== undefined) task.seedRequestedMs = this.components.clock.nowMs()
    }
    const seedWorking = task.seedRequestedMs !== undefined && task.hasSeedPeerOrPending
      && this.components.clock.nowMs() - task.seedRequestedMs < this.init.seedWaitTimeoutMs
    if (seedWorking) return { kind: 'retry', seedHost }
    // A seed asked and gone (failed, or left unfinished) will bring nothing: waiting on is pointless.
    const seedGone = task.seedRequestedMs !== undefined && !task.hasSeedPeerOrPending
    if (mayBackToSource && !capReached) {
      if (seedHosts.length === 0) return this.backToSource(peer, 'no_seed_peer', 'no parent and no seed peer')
      if (seedGone) return this.backToSource(peer, 'seed_peer_failed', 'no parent, and the seed peer asked to fetch the task failed')
      if (attempts >= this.init.retryBackToSourceLimit) return this.backToSource(peer, 'no_parent', `no parent after ${attempts} schedules`)
    }
    if (attempts >= this.init.retryLimit) return this.fail(peer, noParentReason)
    return { kind: 'retry', seedHost }
  }

  /**
   * A download the cluster blocklists is never scheduled through peers. As when no parent exists,
   * its priority decides the rest: the peer fetches from the source itself where it may, and
   * fails at once where it may not (priority 1 or 2, or back-to-source disabled).
   */
  private refuse(peer: Peer, reason: string): ScheduleDecision {
    if (peer.priority === 1) return this.fail(peer, `forbidden; ${reason}`)
    const mayBackToSource = peer.host.seed || (!peer.download.disableBackToSource && peer.priority !== 2)
    return mayBackToSource ? this.backToSource(peer, 'blocklisted', `${reason}; fetch it from the source`) : this.fail(peer, `${reason}, and back-to-source is not allowed`)
  }

  private backToSource(peer: Peer, code: BackToSourceReason, reason: string): ScheduleDecision {
    // The daemon stops fetching from parents: they need not count it as a child, nor tell it of pieces.
    peer.task.graph.deleteInEdges(peer.id)
    peer.state = 'back-to-source'
    peer.backToSourceGranted = true
    return { kind: 'back-to-source', reason, code }
  }

  private fail(peer: Peer, reason: string): ScheduleDecision {
    peer.task.graph.deleteInEdges(peer.id)
    peer.state = 'failed'
    return { kind: 'failed', reason }
  }
}
