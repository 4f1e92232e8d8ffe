import type { Clock } from '../common/clock.js'
import type { Logger } from '../common/logger.js'
import type { PeerId } from '../protocol/ids.js'
import type { AnnouncePeerResponse, CandidateParent, TaskInfo } from '../protocol/generated/damselfly/scheduler/v1/scheduler.js'
import type { Peer } from './peer.js'
import type { ScheduleOutcome, SchedulerMetrics } from './scheduler-metrics.js'
import { rejectionReason } from './parent-filters.js'
import { sameSourceRequest, type SourceVerdict } from './request-parsing.js'
import type { ScheduleDecision, Scheduling } from './scheduling.js'
import type { SwarmRecorder } from './swarm-recorder.js'
import type { Task } from './task.js'

const OUTCOMES = {
  'empty-task': 'empty_task',
  'tiny-task': 'tiny_task',
  parents: 'parents',
  'back-to-source': 'back_to_source',
  failed: 'failed',
  retry: 'retry',
} as const satisfies Record<ScheduleDecision['kind'], ScheduleOutcome>

/** The numbers of the pieces a peer holds that have an authoritative digest, in piece order. */
export function authoritativePieceNumbers(peer: Peer): number[] {
  return [...peer.finishedPieces].filter((number) => peer.task.piece(number) !== undefined)
}

/**
 * Running peers of a task a new parent is offered among, at most: beyond this many, a random
 * sample of them, so that each peer's first piece costs O(sample), not O(peers of the task),
 * in a swarm of tens of thousands.
 */
export const NEW_PARENT_CANDIDATES = 256

/**
 * What a piece takes to go one hop besides its bytes, as the fan-out below counts it: the
 * holder's answer to the watches of its children, their requests, its upload server's turn, and
 * for children that do not watch, up to 5 ms in the holder's report batch and the scheduler's
 * relay. The value is measured, not summed: in the swarm simulator (1,000 hosts at 1, 10 and
 * 25 Gbit/s, 256 MiB, with children then asking their parents for new pieces by long poll), the
 * fast hosts' p99 over their own bound was 1.95x with 3 ms (about the bare latencies: too few
 * children per fast parent), 1.44x with 8 and 1.51x with 12.
 */
export const PIECE_HOP_MS = 8
/** However fast its link, a new parent goes to at most this many times `maxChildren` children. */
export const MAX_FAN_OUT_FACTOR = 4

/**
 * How many children a new parent is offered to: `maxChildren`, or, when its link is fast enough
 * to send a piece to more of them in the time a piece takes to go one hop, that many (at most
 * {@link MAX_FAN_OUT_FACTOR} times `maxChildren`). Where a 1 MiB piece crosses a 25 Gbit/s link
 * in a twentieth of a hop, a fresh piece otherwise reaches a swarm of such hosts several hops
 * deep, each hop mostly waiting; a 1 Gbit/s link, or an 8 MiB piece on 25 Gbit/s, sends fewer
 * than `maxChildren` pieces in a hop and keeps `maxChildren`, as an unknown capacity (0) or
 * piece length does.
 */
export function newParentFanOut(parent: Peer, maxChildren: number): number {
  const pieceLengthBytes = parent.task.pieceLengthBytes ?? 0
  const capacity = parent.host.load.uploadCapacityBytesPerSecond
  if (pieceLengthBytes <= 0 || capacity <= 0) return maxChildren
  const piecesPerHop = Math.floor((capacity * PIECE_HOP_MS) / 1000 / pieceLengthBytes)
  return Math.min(maxChildren * MAX_FAN_OUT_FACTOR, Math.max(maxChildren, piecesPerHop))
}

function taskInfo(task: Task): TaskInfo | undefined {
  const pieceCount = task.pieceCount
  if (task.contentLengthBytes === undefined || task.pieceLengthBytes === undefined || pieceCount === undefined) return undefined
  return { contentLength: task.contentLengthBytes, pieceLength: task.pieceLengthBytes, pieceCount }
}

function candidateParent(parent: Peer): CandidateParent {
  return {
    peerId: parent.id,
    hostId: parent.hostId,
    ip: parent.host.info.ip,
    uploadPort: parent.host.info.uploadPort,
    seed: parent.host.seed,
    uploadTls: parent.host.info.uploadTls,
    pieceNumbers: authoritativePieceNumbers(parent),
  }
}

/**
 * Runs schedules and tells peers the outcome over their streams. A peer told to retry is
 * scheduled again after the retry interval, or sooner when a parent for it appears.
 */
export class ScheduleRunner {
  private readonly waiting = new Map<PeerId, { readonly abort: AbortController; readonly peer: Peer }>()
  /** The same peers by task: waking runs on every piece report, and must not walk all of a task's peers. */
  private readonly waitingByTask = new Map<Task, Set<Peer>>()
  private readonly timers = new Set<Promise<void>>()

  constructor(
    private readonly components: {
      scheduling: Scheduling
      metrics: SchedulerMetrics
      recorder: SwarmRecorder
      clock: Clock
      logger: Logger
      /** Uniform in [0, 1); injected so tests are repeatable. */
      random: () => number
      /** The capability a peer shows its parents (empty without identities). */
      capabilityFor?: (peer: Peer) => string
    },
    private readonly init: { retryIntervalMs: number },
  ) {}

  /** Schedules the peer now, replacing any pending retry. */
  run(peer: Peer): void {
    this.cancel(peer.id)
    const startedMs = performance.now()
    const decision = this.components.scheduling.schedule(peer)
    this.apply(peer, decision, startedMs)
  }

  /** Offers parents at once to the task's waiting peers that now have some. */
  wake(task: Task): void {
    for (const peer of [...(this.waitingByTask.get(task) ?? [])]) {
      if (this.waiting.get(peer.id)?.peer !== peer || !peer.connected) continue
      const startedMs = performance.now()
      const decision = this.components.scheduling.scheduleIfParents(peer)
      if (decision === undefined) continue
      this.cancel(peer.id)
      this.apply(peer, decision, startedMs)
    }
  }

  /**
   * Offers a peer that just got its first piece as an extra parent to running peers of its task,
   * so that children feed each other instead of all leaning on the seed. It goes to at most
   * `maxChildren` of them, more for a parent with a fast link ({@link newParentFanOut}), those
   * with the fewest parents first (ties at random), each below
   * `maxParents`: otherwise the first peers to get a piece would fill every child's parent slots,
   * and in a large swarm the later ones would never upload. The edge may run against an existing
   * one: peers that started together trade both ways. In a task of more than
   * {@link NEW_PARENT_CANDIDATES} running peers, the rule applies to a random sample of them.
   */
  offerNewParent(parent: Peer, limits: { maxParents: number; maxChildren: number }): void {
    const task = parent.task
    const running = task.runningPeers
    const candidates = running.size <= NEW_PARENT_CANDIDATES ? running.all : running.sample(NEW_PARENT_CANDIDATES, this.components.random, parent)
    const children = candidates
      .filter((child) => child !== parent && child.connected)
      .filter((child) => task.graph.parentCount(child.id) < limits.maxParents && !task.graph.hasEdge(parent.id, child.id))
      .filter((child) => rejectionReason(child, parent) === undefined)
      .map((child) => ({ child, parents: task.graph.parentCount(child.id), tieBreak: this.components.random() }))
      .sort((a, b) => a.parents - b.parents || a.tieBreak - b.tieBreak)
      .slice(0, newParentFanOut(parent, limits.maxChildren))
    for (const { child } of children) {
      if (!task.graph.addEdge(parent.id, child.id)) continue
      this.sendParents(child, [parent])
    }
  }

  /**
   * A seed peer asked to fetch `seed`'s task failed, so the peers waiting for it stop waiting.
   * When the failure is the origin's final answer (`verdict`), each peer that asked the origin
   * the same (sameSourceRequest) is told it and fails as a fetch of its own would: those waiting,
   * running ones left without a parent, and, for content failing its digest, every running one.
   * Every other waiting peer, and running one left without a parent, is scheduled again at once:
   * with the seed gone it goes back to source where its priority allows (Scheduling).
   */
  seedPeerFailed(seed: Peer, verdict: SourceVerdict | undefined): void {
    const task = seed.task
    for (const peer of [...task.peers.values()]) {
      if (peer === seed || !peer.connected) continue
      const waiting = this.waiting.get(peer.id)?.peer === peer
      const orphaned = peer.state === 'running' && task.graph.parentCount(peer.id) === 0
      const affected = waiting || orphaned || (peer.state === 'running' && verdict?.code === 'DIGEST_MISMATCH')
      if (!affected) continue
      if (verdict !== undefined && sameSourceRequest(peer.download, seed.download)) {
        this.relay(peer, verdict)
      } else if (waiting || orphaned) {
        this.run(peer)
      }
    }
  }

  /** Drops the peer's pending retry; safe to repeat. */
  cancel(peerId: PeerId): void {
    const entry = this.waiting.get(peerId)
    if (entry === undefined) return
    entry.abort.abort()
    this.forget(entry.peer)
  }

  /** Cancels every pending retry and waits for them to settle. */
  async stop(): Promise<void> {
    for (const { abort } of this.waiting.values()) abort.abort()
    this.waiting.clear()
    this.waitingByTask.clear()
    await Promise.all([...this.timers])
  }

  private apply(peer: Peer, decision: ScheduleDecision, startedMs: number): void {
    const outcome = OUTCOMES[decision.kind]
    this.components.metrics.scheduleDurationSeconds.observe({ outcome }, (performance.now() - startedMs) / 1000)
    this.components.metrics.schedules.inc({ outcome })
    // Fields rather than a child logger: most decisions log nothing, and a child costs its bindings' JSON.
    const { logger } = this.components
    const about = { taskId: peer.task.id, peerId: peer.id }
    switch (decision.kind) {
      case 'empty-task':
        this.components.recorder.peerEnded(peer, 'finished')
        this.send(peer, { response: { $case: 'emptyTask', value: {} } })
        return
      case 'tiny-task':
        this.components.recorder.peerEnded(peer, 'finished')
        this.send(peer, { response: { $case: 'tinyTask', value: { content: decision.content } } })
        return
      case 'parents':
        if (logger.isLevelEnabled('debug')) logger.debug({ ...about, parents: decision.parents.map((parent) => parent.id) }, 'parents offered')
        this.sendParents(peer, decision.parents)
        return
      case 'back-to-source':
        logger.info({ ...about, reason: decision.reason }, 'peer sent back to source')
        this.components.metrics.backToSourceDecisions.inc()
        this.components.recorder.wentToSource(peer, decision.code)
        this.send(peer, { response: { $case: 'needBackToSource', value: { reason: decision.reason } } })
        return
      case 'failed':
        logger.info({ ...about, reason: decision.reason }, 'schedule failed')
        this.components.recorder.peerEnded(peer, 'failed')
        this.send(peer, { response: { $case: 'scheduleFailed', value: { reason: decision.reason } } })
        return
      case 'retry':
        if (decision.seedHost !== undefined) {
          logger.info({ ...about, seedHostId: decision.seedHost.id }, 'seed peer triggered')
          this.components.metrics.seedTriggers.inc()
          decision.seedHost.stream?.write({ command: { $case: 'seedTask', value: peer.download } })
        }
        this.retryLater(peer)
        return
    }
  }

  private relay(peer: Peer, verdict: SourceVerdict): void {
    this.cancel(peer.id)
    peer.state = 'failed'
    this.components.recorder.peerEnded(peer, 'failed')
    peer.task.graph.deleteInEdges(peer.id)
    this.components.metrics.sourceFailuresRelayed.inc({ code: verdict.code })
    this.components.logger.info({ taskId: peer.task.id, peerId: peer.id, code: verdict.code, sourceStatus: verdict.sourceStatus || undefined }, 'seed peer\'s source failure relayed')
    this.send(peer, { response: { $case: 'sourceFailed', value: { code: verdict.code, sourceStatus: verdict.sourceStatus, reason: verdict.reason } } })
  }

  /** `normal_task` with `parents`, and the digests of their pieces that the child was not sent before. */
  private sendParents(child: Peer, parents: readonly Peer[]): void {
    const offered = parents.map(candidateParent)
    const digests = child.unsentDigests(offered.flatMap((parent) => parent.pieceNumbers))
    this.send(child, { response: { $case: 'normalTask', value: { task: taskInfo(child.task), parents: offered, capability: this.capabilityFor(child), digests } } })
  }

  private capabilityFor(peer: Peer): string {
    return this.components.capabilityFor?.(peer) ?? ''
  }

  private send(peer: Peer, response: AnnouncePeerResponse): void {
    peer.stream?.write(response)
  }

  private forget(peer: Peer): void {
    this.waiting.delete(peer.id)
    const ofTask = this.waitingByTask.get(peer.task)
    ofTask?.delete(peer)
    if (ofTask?.size === 0) this.waitingByTask.delete(peer.task)
  }

  private retryLater(peer: Peer): void {
    const abort = new AbortController()
    const entry = { abort, peer }
    this.waiting.set(peer.id, entry)
    const ofTask = this.waitingByTask.get(peer.task) ?? new Set<Peer>()
    ofTask.add(peer)
    this.waitingByTask.set(peer.task, ofTask)
    const timer = this.components.clock.sleep(this.init.retryIntervalMs, abort.signal).then(
      () => {
        if (this.waiting.get(peer.id) !== entry) return
        this.forget(peer)
        if (peer.connected && peer.state === 'pending') this.run(peer)
      },
      // Aborted: the peer was scheduled by other means, left, or the scheduler is stopping.
      () => undefined,
    ).catch((error: unknown) => {
      this.components.logger.error({ err: error, peerId: peer.id }, 'retry schedule failed')
    }).finally(() => this.timers.delete(timer))
    this.timers.add(timer)
  }
}
