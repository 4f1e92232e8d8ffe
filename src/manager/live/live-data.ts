import { status as GrpcStatus } from '@grpc/grpc-js'
import type { Clock } from '../../common/clock.js'
import type { Logger } from '../../common/logger.js'
import { DamselflyError } from '../../protocol/damselfly-error.js'
import type { LiveScheduler, LiveSchedulers } from './live-schedulers.js'
import { BUCKET_COUNT, BUCKET_SECONDS, parseClusterStats, parseTaskSwarm, type SchedulerSwarm } from './scheduler-answers.js'

/** Counters summed over a cluster's schedulers. */
export interface OverviewCounts {
  bytesFromPeers: number
  bytesFromSeedPeers: number
  bytesFromOrigin: number
  tasksStarted: number
  tasksFinished: number
  peersStarted: number
  peersFinished: number
  peersFailed: number
  backToSource: number
}

/** A minute of the overview. */
export interface OverviewBucket extends OverviewCounts {
  readonly startMs: number
}

/** The last hour of a cluster, summed over the schedulers that answered. */
export interface ClusterOverview {
  readonly clusterId: number
  readonly fromMs: number
  readonly toMs: number
  readonly asked: number
  readonly answered: number
  readonly totals: OverviewCounts
  /** Most frequent first, then by name. */
  readonly reasons: ReadonlyArray<{ readonly reason: string; readonly count: number }>
  /** BUCKET_COUNT minutes, oldest first, the current one last. */
  readonly buckets: readonly OverviewBucket[]
}

/** A task's swarm, as the scheduler that holds it answered. */
export interface FoundSwarm {
  readonly scheduler: Pick<LiveScheduler, 'id' | 'clusterId' | 'hostname' | 'ip'>
  readonly swarm: SchedulerSwarm
}

const BUCKET_MS = BUCKET_SECONDS * 1000

function zeroCounts(): OverviewCounts {
  return { bytesFromPeers: 0, bytesFromSeedPeers: 0, bytesFromOrigin: 0, tasksStarted: 0, tasksFinished: 0, peersStarted: 0, peersFinished: 0, peersFailed: 0, backToSource: 0 }
}

/**
 * The console's live data: asks the live schedulers, in parallel, and puts their answers
 * together. A scheduler that fails to answer in time, or answers nonsense, is left out (and
 * logged): it shows in `answered`, it does not fail the request.
 */
export class LiveData {
  constructor(private readonly components: { schedulers: LiveSchedulers; clock: Clock; logger: Logger }) {}

  /**
   * The cluster's last hour by minute, by the manager's clock: each scheduler's minute is added to
   * the same minute here, and minutes outside the hour are dropped.
   */
  async overview(clusterId: number, signal: AbortSignal): Promise<ClusterOverview> {
    const schedulers = await this.components.schedulers.alive(clusterId)
    const answers = await Promise.all(schedulers.map(async (scheduler) => {
      try {
        return parseClusterStats(await scheduler.clusterStats(signal), scheduler.address)
      } catch (error) {
        this.components.logger.warn({ err: error, clusterId, scheduler: scheduler.address }, 'scheduler left out of the cluster overview')
        return undefined
      }
    }))
    const lastStartMs = Math.floor(this.components.clock.nowMs() / BUCKET_MS) * BUCKET_MS
    const fromMs = lastStartMs - (BUCKET_COUNT - 1) * BUCKET_MS
    const buckets: OverviewBucket[] = Array.from({ length: BUCKET_COUNT }, (_, i) => ({ startMs: fromMs + i * BUCKET_MS, ...zeroCounts() }))
    const totals = zeroCounts()
    const reasons = new Map<string, number>()
    let answered = 0
    for (const answer of answers) {
      if (answer === undefined) continue
      answered++
      for (const bucket of answer) {
        const into = buckets[(bucket.startMs - fromMs) / BUCKET_MS]
        if (into === undefined) continue
        const backToSource = bucket.backToSource.reduce((sum, entry) => sum + entry.count, 0)
        for (const target of [into, totals]) {
          target.bytesFromPeers += bucket.bytesFromPeers
          target.bytesFromSeedPeers += bucket.bytesFromSeedPeers
          target.bytesFromOrigin += bucket.bytesFromOrigin
          target.tasksStarted += bucket.tasksStarted
          target.tasksFinished += bucket.tasksFinished
          target.peersStarted += bucket.peersStarted
          target.peersFinished += bucket.peersFinished
          target.peersFailed += bucket.peersFailed
          target.backToSource += backToSource
        }
        for (const entry of bucket.backToSource) reasons.set(entry.reason, (reasons.get(entry.reason) ?? 0) + entry.count)
      }
    }
    return {
      clusterId,
      fromMs,
      toMs: this.components.clock.nowMs(),
      asked: schedulers.length,
      answered,
      totals,
      reasons: [...reasons].map(([reason, count]) => ({ reason, count })).sort((a, b) => b.count - a.count || (a.reason < b.reason ? -1 : 1)),
      buckets,
    }
  }

  /**
   * The swarm of a task, from the live scheduler (of `clusterId`, or of any cluster) that holds
   * it; with several, the one that knows the most peers. NOT_FOUND when none does.
   */
  async swarm(taskId: string, clusterId: number | undefined, signal: AbortSignal): Promise<FoundSwarm> {
    const schedulers = await this.components.schedulers.alive(clusterId)
    const where = clusterId === undefined ? 'any cluster' : `cluster ${clusterId}`
    if (schedulers.length === 0) throw new DamselflyError('NOT_FOUND', `task ${taskId}: ${where} has no active scheduler to ask`)
    let unanswered = 0
    const found = await Promise.all(schedulers.map(async (scheduler): Promise<FoundSwarm | undefined> => {
      try {
        return { scheduler, swarm: parseTaskSwarm(await scheduler.taskSwarm(taskId, signal), taskId, scheduler.address) }
      } catch (error) {
        if ((error as { code?: unknown }).code === GrpcStatus.NOT_FOUND) return undefined
        unanswered++
        this.components.logger.warn({ err: error, taskId, scheduler: scheduler.address }, 'scheduler left out of a task swarm')
        return undefined
      }
    }))
    const best = found.reduce<FoundSwarm | undefined>((kept, next) => (next !== undefined && (kept === undefined || next.swarm.peers.length > kept.swarm.peers.length) ? next : kept), undefined)
    if (best !== undefined) return best
    const silent = unanswered === 0 ? '' : `; ${unanswered} of ${schedulers.length} schedulers did not answer`
    throw new DamselflyError('NOT_FOUND', `no active scheduler of ${where} knows task ${taskId}${silent}`)
  }
}
