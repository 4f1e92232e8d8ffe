import { Counter, Gauge, Histogram, type Registry } from 'prom-client'
import { zeroed } from '../common/metrics.js'

/** What a schedule told a peer, as counted by `damselfly_scheduler_schedule_total`. */
export const SCHEDULE_OUTCOMES = ['parents', 'empty_task', 'tiny_task', 'back_to_source', 'failed', 'retry'] as const
export type ScheduleOutcome = (typeof SCHEDULE_OUTCOMES)[number]

/** Why a parent was blocklisted for a child. */
export const BLOCKLIST_REASONS = ['bad_content', 'reschedule'] as const
export type BlocklistReason = (typeof BLOCKLIST_REASONS)[number]

/** The origin's final answers a seed peer's failure is relayed with (request-parsing.ts, SourceVerdict). */
const RELAYED_SOURCE_FAILURES = ['SOURCE_STATUS', 'DIGEST_MISMATCH'] as const

/**
 * How each command a manager's job sent a host ended, as counted by
 * `damselfly_scheduler_job_commands_total`: a download by the host's outcome, or failed because
 * its host's stream closed, or cancelled with the job; a stat or delete answered, or not in time.
 */
export const JOB_COMMAND_OUTCOMES = {
  download_task: ['succeeded', 'failed', 'disconnected', 'cancelled'],
  cancel_download_task: ['sent'],
  stat_task: ['answered', 'disconnected', 'timeout'],
  delete_task: ['answered', 'disconnected', 'timeout'],
} as const
export type JobCommand = keyof typeof JOB_COMMAND_OUTCOMES
export type JobCommandOutcome<C extends JobCommand = JobCommand> = (typeof JOB_COMMAND_OUTCOMES)[C][number]

/** The scheduler's Prometheus metrics; names carry the `damselfly_scheduler_` prefix. */
export class SchedulerMetrics {
  readonly scheduleDurationSeconds: Histogram<'outcome'>
  readonly schedules: Counter<'outcome'>
  readonly backToSourceDecisions: Counter
  readonly seedTriggers: Counter
  readonly blocklistedParents: Counter<'reason'>
  readonly pieceDigestMismatches: Counter
  readonly contentDigestMismatches: Counter
  readonly sourceFailuresRelayed: Counter<'code'>
  readonly jobCommands: Counter<'command' | 'outcome'>

  constructor(registry: Registry, counts: { hosts: () => number; tasks: () => number; peers: () => number }) {
    const registers = [registry]
    this.scheduleDurationSeconds = new Histogram({
      name: 'damselfly_scheduler_schedule_duration_seconds',
      help: 'Time to decide one schedule for a peer, by outcome.',
      labelNames: ['outcome'],
      buckets: [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5],
      registers,
    })
    this.schedules = new Counter({
      name: 'damselfly_scheduler_schedule_total',
      help: 'Schedules decided, by outcome.',
      labelNames: ['outcome'],
      registers,
    })
    this.backToSourceDecisions = new Counter({
      name: 'damselfly_scheduler_back_to_source_total',
      help: 'Peers told to fetch from the source.',
      registers,
    })
    this.seedTriggers = new Counter({
      name: 'damselfly_scheduler_seed_trigger_total',
      help: 'Seed hosts asked to fetch a task from the source.',
      registers,
    })
    this.blocklistedParents = new Counter({
      name: 'damselfly_scheduler_blocklisted_parents_total',
      help: 'Parents blocklisted for a child, by reason.',
      labelNames: ['reason'],
      registers,
    })
    this.pieceDigestMismatches = new Counter({
      name: 'damselfly_scheduler_piece_digest_mismatch_total',
      help: 'Reported pieces refused because their digest differs from the authoritative record.',
      registers,
    })
    this.contentDigestMismatches = new Counter({
      name: 'damselfly_scheduler_content_digest_mismatch_total',
      help: 'Tasks whose whole content failed its digest although every piece matched: their digests were dropped.',
      registers,
    })
    this.sourceFailuresRelayed = new Counter({
      name: 'damselfly_scheduler_source_failure_relayed_total',
      help: 'Peers told the origin\'s final answer a seed peer got for the same request, by code.',
      labelNames: ['code'],
      registers,
    })
    this.jobCommands = new Counter({
      name: 'damselfly_scheduler_job_commands_total',
      help: 'Commands of the manager\'s jobs sent to hosts, by command and how they ended.',
      labelNames: ['command', 'outcome'],
      registers,
    })
    for (const [command, outcomes] of Object.entries(JOB_COMMAND_OUTCOMES)) {
      for (const outcome of outcomes) this.jobCommands.inc({ command, outcome }, 0)
    }
    zeroed(this.schedules, 'outcome', SCHEDULE_OUTCOMES)
    zeroed(this.blocklistedParents, 'reason', BLOCKLIST_REASONS)
    zeroed(this.sourceFailuresRelayed, 'code', RELAYED_SOURCE_FAILURES)
    const gauge = (name: string, help: string, read: () => number): void => {
      new Gauge({
        name,
        help,
        registers,
        collect() {
          this.set(read())
        },
      })
    }
    gauge('damselfly_scheduler_hosts', 'Hosts the scheduler knows.', counts.hosts)
    gauge('damselfly_scheduler_tasks', 'Tasks the scheduler knows.', counts.tasks)
    gauge('damselfly_scheduler_peers', 'Peers the scheduler knows.', counts.peers)
  }
}
