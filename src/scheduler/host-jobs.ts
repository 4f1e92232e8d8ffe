import { randomUUID } from 'node:crypto'
import type { Clock } from '../common/clock.js'
import type { Logger } from '../common/logger.js'
import { DamselflyError } from '../protocol/damselfly-error.js'
import type { HostId, TaskId } from '../protocol/ids.js'
import {
  TaskState,
  type AnnounceHostRequest,
  type AnnounceHostResponse,
  type DeleteTaskResponse,
  type DownloadTaskOutcome,
  type RunDownloadsEvent,
  type SelectedHost,
  type StatTaskResponse,
  type TaskDeleted,
  type TaskStat,
} from '../protocol/generated/damselfly/scheduler/v1/scheduler.js'
import type { Host } from './host.js'
import { selectHosts, type HostSelectionRule, type SelectableHost } from './host-selection.js'
import type { DownloadJob, TaskQuery } from './job-request-parsing.js'
import { seedHostFor } from './seed-selection.js'
import type { MessageSink } from './message-sink.js'
import type { ResourceStore } from './resource-store.js'
import type { ScheduleRunner } from './schedule-runner.js'
import type { JobCommand, JobCommandOutcome, SchedulerMetrics } from './scheduler-metrics.js'

/** What a host sends back on its announce stream about a command. */
export type HostReport = NonNullable<AnnounceHostRequest['report']>
type HostStream = MessageSink<AnnounceHostResponse>

/** A host's reason, as relayed to the manager, is cut to this length: it is only read by people. */
const MAX_REASON_LENGTH = 500
const MAX_CODE_LENGTH = 64

/** A command sent to a host and not yet answered. */
interface PendingCommand {
  /** The announce stream it went over: only a report on that stream answers it. */
  readonly stream: HostStream
  readonly host: SelectedHost
  readonly command: Exclude<JobCommand, 'cancel_download_task'>
  readonly expects: ReadonlySet<HostReport['$case']>
  readonly onReport: (report: HostReport) => void
  /** The stream closed first. */
  readonly onGone: () => void
}

/** A host with an open announce stream, as the selection sees it. */
interface ConnectedHost extends SelectableHost {
  readonly host: Host
  readonly stream: HostStream
  readonly selected: SelectedHost
}

/** How long a download's other hosts wait for its first host's peer to register before they start anyway. */
const LEAD_WAIT_MS = 3_000

const HOLDING_STATES: ReadonlySet<TaskState> = new Set([TaskState.TASK_STATE_RUNNING, TaskState.TASK_STATE_PARTIAL, TaskState.TASK_STATE_SUCCEEDED])

function requestIdOf(report: HostReport): string {
  return report.value.requestId
}

function failedOutcome(taskId: TaskId, code: DamselflyError['code'], reason: string, costMs = 0): DownloadTaskOutcome {
  return { requestId: '', taskId, success: false, code, reason, contentLength: 0, totalPieces: 0, costMs }
}

function noHostMessage(rule: HostSelectionRule): string {
  const kind = rule.scope === 'all-peers' ? 'host' : 'seed peer'
  return rule.hosts.length === 0 ? `no ${kind} is connected to this scheduler` : `no ${kind} connected to this scheduler matches the hosts listed`
}

/**
 * The manager's jobs, run over the hosts' announce streams: the selection of hosts, the commands
 * sent to them (each with a request id of its own) and the routing of each report to the job
 * waiting for it. A report counts only when it arrives on the stream its command went over, so a
 * host cannot answer for another; a command whose stream closes first fails at once.
 */
export class HostJobs {
  private readonly pending = new Map<string, PendingCommand>()
  private readonly byStream = new Map<HostStream, Set<string>>()

  constructor(
    private readonly components: {
      store: ResourceStore
      runner: Pick<ScheduleRunner, 'cancel'>
      metrics: SchedulerMetrics
      clock: Clock
      logger: Logger
      /** A new unique request id; random UUIDs by default. */
      requestId?: () => string
    },
  ) {}

  /** Routes a report from `stream` to the command it answers; any other report is ignored (logged). */
  report(stream: HostStream, hostId: HostId | undefined, report: HostReport): void {
    const requestId = requestIdOf(report)
    const pending = this.pending.get(requestId)
    if (pending === undefined) {
      this.components.logger.debug({ hostId, requestId, report: report.$case }, 'report for no pending command ignored')
      return
    }
    if (pending.stream !== stream) {
      this.components.logger.warn({ hostId, requestId, report: report.$case, commandHostId: pending.host.hostId }, 'report for another host\'s command refused')
      return
    }
    if (!pending.expects.has(report.$case)) {
      this.components.logger.debug({ hostId, requestId, report: report.$case, command: pending.command }, 'report of the wrong kind for its command ignored')
      return
    }
    pending.onReport(report)
  }

  /** An announce stream closed: the commands it carried fail at once. */
  streamClosed(stream: HostStream): void {
    for (const requestId of [...(this.byStream.get(stream) ?? [])]) this.pending.get(requestId)?.onGone()
    this.byStream.delete(stream)
  }

  /**
   * Runs `job`: writes DownloadsStarted, a failed outcome (HOST_NOT_FOUND) per download for each
   * listed name no host matched, then sends each selected host a download_task per download and
   * relays its progress and outcome, and resolves once every (host, download) pair has an outcome.
   * When `signal` aborts, the hosts are told to cancel what is still running and it resolves.
   * Rejects with HOST_NOT_FOUND, before writing anything, when the selection is empty.
   */
  async runDownloads(job: DownloadJob, events: MessageSink<RunDownloadsEvent>, signal: AbortSignal): Promise<void> {
    const taskIds = job.downloads.map((download) => download.taskId)
    const selection = selectHosts(this.connectedHosts(), job.selection, taskIds, (taskId) => this.components.store.tasks.get(taskId)?.distrustedHosts ?? new Set())
    const pairs = selection.hostsByDownload.flatMap((hosts, index) => hosts.map((host) => ({ host, index })))
    if (pairs.length === 0 && selection.unmatched.length === 0) throw new DamselflyError('HOST_NOT_FOUND', `run downloads: ${noHostMessage(job.selection)}`)
    this.components.logger.info(
      { jobId: job.jobId, downloads: taskIds.length, scope: job.selection.scope, hosts: selection.hosts.length, unmatched: selection.unmatched.length },
      'job downloads started',
    )
    events.write({ event: { $case: 'started', value: { taskIds, hosts: selection.hosts.map((host) => host.selected) } } })
    for (const name of selection.unmatched) {
      const reason = `no ${job.selection.scope === 'all-peers' ? 'host' : 'seed peer'} connected to this scheduler has IP or hostname ${name}`
      taskIds.forEach((taskId, index) => {
        events.write({ event: { $case: 'outcome', value: { host: { hostId: '', ip: name, hostname: '', seed: false }, downloadIndex: index, outcome: failedOutcome(taskId, 'HOST_NOT_FOUND', reason) } } })
      })
    }
    if (pairs.length === 0 || signal.aborted) return
    await new Promise<void>((resolve) => {
      const running = new Set<string>()
      const finished = (requestId: string): void => {
        running.delete(requestId)
        if (running.size > 0) return
        signal.removeEventListener('abort', cancel)
        resolve()
      }
      const cancel = (): void => {
        for (const requestId of running) {
          const pending = this.pending.get(requestId)
          if (pending === undefined) continue
          this.settle(requestId, 'download_task', 'cancelled')
          pending.stream.write({ command: { $case: 'cancelDownloadTask', value: { requestId, reason: `the manager cancelled job ${job.jobId}` } } })
          this.components.metrics.jobCommands.inc({ command: 'cancel_download_task', outcome: 'sent' })
        }
        this.components.logger.info({ jobId: job.jobId, cancelled: running.size }, 'job downloads cancelled')
        running.clear()
        resolve()
      }
      signal.addEventListener('abort', cancel, { once: true })
      const send = (host: ConnectedHost, index: number, onReport?: (outcome: boolean) => void): void => {
        if (signal.aborted) return
        const requestId = this.newRequestId()
        running.add(requestId)
        this.sendDownload(job, index, host, requestId, events, () => finished(requestId), onReport)
      }
      // Each download starts on one host first, the seed the scheduler would pick where it can:
      // the others follow once that host's peer is registered, so they find it as a parent
      // instead of all going to the origin at once.
      selection.hostsByDownload.forEach((hosts, index) => {
        const taskId = taskIds[index]
        const seedLead = taskId === undefined ? undefined : seedHostFor(taskId, hosts.filter((candidate) => candidate.host.seed).map((candidate) => candidate.host))
        const lead = hosts.find((host) => host.host === seedLead) ?? hosts[0]
        if (lead === undefined || taskId === undefined) return
        const rest = hosts.filter((host) => host !== lead)
        let released = rest.length === 0
        const release = (): void => {
          if (released) return
          released = true
          for (const host of rest) send(host, index)
        }
        send(lead, index, (outcome) => {
          if (outcome || this.hasPeer(lead.host, taskId)) release()
        })
        if (!released) setTimeout(release, LEAD_WAIT_MS).unref()
      })
    })
  }

  /** Asks every connected host whether it holds the task; waits for their answers up to the query's timeout. */
  async statTask(query: TaskQuery): Promise<StatTaskResponse> {
    const { answers, unanswered } = await this.askAll(query, 'stat_task', 'taskStat', (report) => (report.$case === 'taskStat' ? report.value : undefined))
    return {
      hosts: answers.filter(({ answer }) => HOLDING_STATES.has(answer.state)).map(({ host, answer }) => ({ host: host.selected, stat: answer })),
      unanswered,
    }
  }

  /**
   * Tells every connected host to delete the task and waits for their answers up to the query's
   * timeout. The scheduler forgets the task's peers on every host that answered, so no child is
   * offered a parent that no longer holds it.
   */
  async deleteTask(query: TaskQuery): Promise<DeleteTaskResponse> {
    const { answers, unanswered } = await this.askAll(query, 'delete_task', 'taskDeleted', (report) => (report.$case === 'taskDeleted' ? report.value : undefined))
    const { store, runner } = this.components
    let forgotten = 0
    for (const { host } of answers) {
      for (const peerId of [...host.host.peerIds]) {
        if (store.peers.get(peerId)?.task.id !== query.taskId) continue
        runner.cancel(peerId)
        store.removePeer(peerId)
        forgotten++
      }
    }
    this.components.logger.info({ taskId: query.taskId, answered: answers.length, unanswered: unanswered.length, peersForgotten: forgotten }, 'task deleted on hosts')
    return {
      hosts: answers.filter(({ answer }) => answer.deleted || answer.error !== '').map(({ host, answer }) => ({ host: host.selected, result: answer })),
      unanswered,
    }
  }

  /** Whether `host` has a peer of the task registered here. */
  private hasPeer(host: Host, taskId: TaskId): boolean {
    for (const peerId of host.peerIds) if (this.components.store.peers.get(peerId)?.task.id === taskId) return true
    return false
  }

  /** `onReport` hears of every report of the host, progress or outcome, before it is relayed. */
  private sendDownload(
    job: DownloadJob,
    index: number,
    target: ConnectedHost,
    requestId: string,
    events: MessageSink<RunDownloadsEvent>,
    finished: () => void,
    onReport?: (outcome: boolean) => void,
  ): void {
    const { download, taskId } = job.downloads[index] ?? {}
    if (download === undefined || taskId === undefined) throw new DamselflyError('INTERNAL', `run downloads: no download ${index}`)
    const host = target.selected
    const startedMs = this.components.clock.nowMs()
    this.track(requestId, {
      stream: target.stream,
      host,
      command: 'download_task',
      expects: new Set(['downloadTaskProgress', 'downloadTaskOutcome']),
      onReport: (report) => {
        onReport?.(report.$case === 'downloadTaskOutcome')
        if (report.$case === 'downloadTaskProgress') {
          events.write({ event: { $case: 'progress', value: { host, progress: { ...report.value, taskId } } } })
          return
        }
        if (report.$case !== 'downloadTaskOutcome') return
        const outcome = report.value
        this.settle(requestId, 'download_task', outcome.success ? 'succeeded' : 'failed')
        events.write({
          event: {
            $case: 'outcome',
            value: { host, downloadIndex: index, outcome: { ...outcome, taskId, code: outcome.code.slice(0, MAX_CODE_LENGTH), reason: outcome.reason.slice(0, MAX_REASON_LENGTH) } },
          },
        })
        finished()
      },
      onGone: () => {
        onReport?.(true)
        this.settle(requestId, 'download_task', 'disconnected')
        const reason = `host ${host.hostname} (${host.ip}) disconnected during the download`
        events.write({ event: { $case: 'outcome', value: { host, downloadIndex: index, outcome: { ...failedOutcome(taskId, 'DAEMON_UNAVAILABLE', reason, this.components.clock.nowMs() - startedMs), requestId } } } })
        finished()
      },
    })
    target.stream.write({
      command: {
        $case: 'downloadTask',
        value: { requestId, download, rateLimitBytesPerSecond: job.rateLimitBytesPerSecond, outputPath: job.outputPath, progressIntervalMs: job.progressIntervalMs },
      },
    })
  }

  /** Sends the query's command to every connected host and collects the answers of kind `answer` until all came or the timeout. */
  private async askAll<A extends TaskStat | TaskDeleted>(
    query: TaskQuery,
    command: 'stat_task' | 'delete_task',
    answer: 'taskStat' | 'taskDeleted',
    answerOf: (report: HostReport) => A | undefined,
  ): Promise<{ answers: Array<{ host: ConnectedHost; answer: A }>; unanswered: SelectedHost[] }> {
    const hosts = this.connectedHosts().sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    const answers = new Map<ConnectedHost, A>()
    const requestIds = new Map<string, ConnectedHost>()
    const allIn = new AbortController()
    let waiting = hosts.length
    const settled = (): void => {
      waiting--
      if (waiting === 0) allIn.abort()
    }
    for (const host of hosts) {
      const requestId = this.newRequestId()
      requestIds.set(requestId, host)
      this.track(requestId, {
        stream: host.stream,
        host: host.selected,
        command,
        expects: new Set([answer]),
        onReport: (report) => {
          const given = answerOf(report)
          if (given === undefined) return
          this.settle(requestId, command, 'answered')
          answers.set(host, { ...given, requestId, taskId: query.taskId })
          settled()
        },
        onGone: () => {
          this.settle(requestId, command, 'disconnected')
          settled()
        },
      })
      const value = { requestId, taskId: query.taskId }
      host.stream.write({ command: command === 'stat_task' ? { $case: 'statTask', value } : { $case: 'deleteTask', value } })
    }
    if (waiting > 0) {
      // Aborted once every host answered: the rejection is the early end, not a failure.
      await this.components.clock.sleep(query.timeoutMs, allIn.signal).catch(() => undefined)
    }
    for (const requestId of requestIds.keys()) {
      if (this.pending.has(requestId)) this.settle(requestId, command, 'timeout')
    }
    return {
      answers: hosts.flatMap((host) => {
        const given = answers.get(host)
        return given === undefined ? [] : [{ host, answer: given }]
      }),
      unanswered: hosts.filter((host) => !answers.has(host)).map((host) => host.selected),
    }
  }

  private connectedHosts(): ConnectedHost[] {
    const connected: ConnectedHost[] = []
    for (const host of this.components.store.hosts.values()) {
      const stream = host.stream
      if (stream === undefined) continue
      const { id, ip, hostname } = host.info
      connected.push({ id, ip, hostname, seed: host.seed, host, stream, selected: { hostId: id, ip, hostname, seed: host.seed } })
    }
    return connected
  }

  private newRequestId(): string {
    return this.components.requestId?.() ?? randomUUID()
  }

  private track(requestId: string, pending: PendingCommand): void {
    this.pending.set(requestId, pending)
    const ofStream = this.byStream.get(pending.stream) ?? new Set()
    ofStream.add(requestId)
    this.byStream.set(pending.stream, ofStream)
  }

  /** Forgets a pending command and counts how it ended. */
  private settle<C extends Exclude<JobCommand, 'cancel_download_task'>>(requestId: string, command: C, outcome: JobCommandOutcome<C>): void {
    const pending = this.pending.get(requestId)
    if (pending === undefined) return
    this.pending.delete(requestId)
    const ofStream = this.byStream.get(pending.stream)
    ofStream?.delete(requestId)
    if (ofStream?.size === 0) this.byStream.delete(pending.stream)
    this.components.metrics.jobCommands.inc({ command, outcome })
  }
}
