import assert from 'node:assert/strict'
import { mkdir, readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { Server, ServerCredentials, status, type ServerDuplexStream } from '@grpc/grpc-js'
import { bindGrpcServer } from '../src/common/grpc-server.js'
import {
  SchedulerServiceService, TaskState,
  type AnnounceHostRequest, type AnnounceHostResponse, type AnnouncePeerRequest, type AnnouncePeerResponse, type Download,
  type DownloadTaskOutcome, type DownloadTaskProgress, type SchedulerServiceServer, type TaskDeleted, type TaskStat,
} from '../src/protocol/generated/damselfly/scheduler/v1/scheduler.js'
import { SCHEDULER_PROTOCOL_REVISION } from '../src/protocol/scheduler-protocol.js'
import { taskIdFor } from '../src/protocol/task-id.js'
import { MiB, sha256File, tempDir } from './support/files.js'
import { makeRandomFile, OriginServer } from './support/origin-server.js'
import { ALLOW_LOOPBACK_ORIGINS, metricValue, socketGet, startDaemon, waitFor, type DaemonProcess } from './support/processes.js'

const TIMEOUT = { timeout: 60_000 }
const TEST = { timeout: 30_000 }

type Command = NonNullable<AnnounceHostResponse['command']>
type Report = NonNullable<AnnounceHostRequest['report']>

/** What a host answers to stat_task and delete_task. */
interface Answers {
  taskStat: TaskStat
  taskDeleted: TaskDeleted
}

/**
 * A scheduler reduced to what this suite needs, on 127.0.0.1 without TLS: it keeps the host's
 * AnnounceHost stream to send commands on and record reports from, and sends every peer back to
 * the source, so the daemon fetches from the test's origin.
 */
class FakeScheduler {
  readonly reports: Report[] = []
  hostStream: ServerDuplexStream<AnnounceHostRequest, AnnounceHostResponse> | undefined
  private readonly calls: Array<{ end(): void }> = []

  /** `127.0.0.1:<port>`, once started. */
  address = ''

  private constructor(private readonly server: Server) {}

  static async start(): Promise<FakeScheduler> {
    const scheduler = new FakeScheduler(new Server())
    scheduler.server.addService(SchedulerServiceService, scheduler.implementation())
    scheduler.address = await bindGrpcServer(scheduler.server, '127.0.0.1', 0, ServerCredentials.createInsecure())
    return scheduler
  }

  private implementation(): SchedulerServiceServer {
    return {
      announceHost: (call) => {
        this.calls.push(call)
        this.hostStream = call
        call.on('data', (request: AnnounceHostRequest) => {
          if (request.report !== undefined) this.reports.push(request.report)
        })
        call.on('error', () => undefined)
        call.on('end', () => call.end())
      },
      announcePeer: (call) => {
        this.calls.push(call)
        call.on('data', (request: AnnouncePeerRequest) => {
          if (request.request?.$case !== 'register') return
          const answers: AnnouncePeerResponse[] = [
            { response: { $case: 'registered', value: { protocolRevision: SCHEDULER_PROTOCOL_REVISION } } },
            { response: { $case: 'needBackToSource', value: { reason: 'the test scheduler has no parents' } } },
          ]
          for (const answer of answers) call.write(answer)
        })
        call.on('error', () => undefined)
        call.on('end', () => call.end())
      },
      leaveHost: (_call, callback) => {
        callback(null, {})
      },
      runDownloads: (call) => {
        call.end()
      },
      statTask: (_call, callback) => {
        callback(null, { hosts: [], unanswered: [] })
      },
      deleteTask: (_call, callback) => {
        callback(null, { hosts: [], unanswered: [] })
      },
      getTaskSwarm: (_call, callback) => {
        callback({ code: status.UNIMPLEMENTED, details: 'not in the test scheduler' }, null)
      },
      getClusterStats: (_call, callback) => {
        callback(null, { bucketSeconds: 60, buckets: [] })
      },
    }
  }

  send(command: Command): void {
    assert.ok(this.hostStream !== undefined, 'the host has announced itself')
    this.hostStream.write({ command })
  }

  progressOf(requestId: string): DownloadTaskProgress[] {
    return this.reports.flatMap((report) => (report.$case === 'downloadTaskProgress' && report.value.requestId === requestId ? [report.value] : []))
  }

  outcomesOf(requestId: string): DownloadTaskOutcome[] {
    return this.reports.flatMap((report) => (report.$case === 'downloadTaskOutcome' && report.value.requestId === requestId ? [report.value] : []))
  }

  async outcome(requestId: string, timeoutMs = 20_000): Promise<DownloadTaskOutcome> {
    await waitFor(() => this.outcomesOf(requestId).length > 0, `the outcome of ${requestId}`, timeoutMs)
    const [outcome] = this.outcomesOf(requestId)
    assert.ok(outcome !== undefined)
    return outcome
  }

  async stat(requestId: string, taskId: string): Promise<TaskStat> {
    this.send({ $case: 'statTask', value: { requestId, taskId } })
    return this.answer(requestId, 'taskStat')
  }

  async delete(requestId: string, taskId: string): Promise<TaskDeleted> {
    this.send({ $case: 'deleteTask', value: { requestId, taskId } })
    return this.answer(requestId, 'taskDeleted')
  }

  /** The host's first report of kind `kind` for `requestId`, once it comes. */
  private async answer<K extends keyof Answers>(requestId: string, kind: K): Promise<Answers[K]> {
    const find = (): Answers[K] | undefined => {
      const report = this.reports.find((candidate) => candidate.$case === kind && candidate.value.requestId === requestId)
      // Sound: the report's case is `kind`, whose value type Answers names.
      return report?.value as Answers[K] | undefined
    }
    await waitFor(() => find() !== undefined, `the ${kind} answer to ${requestId}`)
    const found = find()
    assert.ok(found !== undefined)
    return found
  }

  async close(): Promise<void> {
    for (const call of this.calls) call.end()
    await new Promise<void>((resolve) => {
      this.server.tryShutdown(() => resolve())
    })
  }
}

function download(url: string, extra: Partial<Download> = {}): Download {
  return { url, headers: {}, tag: '', application: '', filteredQueryParams: [], pieceLength: 0, priority: 6, digest: '', disableBackToSource: false, ...extra }
}

function downloadTask(requestId: string, url: string, extra: { rateLimitBytesPerSecond?: number; outputPath?: string; progressIntervalMs?: number; download?: Partial<Download> } = {}): Command {
  return {
    $case: 'downloadTask',
    value: {
      requestId,
      download: download(url, extra.download),
      rateLimitBytesPerSecond: extra.rateLimitBytesPerSecond ?? 0,
      outputPath: extra.outputPath ?? '',
      progressIntervalMs: extra.progressIntervalMs ?? 0,
    },
  }
}

describe('the daemon runs the manager\'s jobs sent by its scheduler', TIMEOUT, () => {
  let dir!: Awaited<ReturnType<typeof tempDir>>
  let origin!: OriginServer
  let scheduler!: FakeScheduler
  let daemon!: DaemonProcess
  let outputDir!: string
  /** The task of the first test, used again by later ones. */
  let firstTask!: { taskId: string; url: string; sha256: string; length: number }

  before(async () => {
    dir = await tempDir('host-commands')
    origin = await OriginServer.start()
    scheduler = await FakeScheduler.start()
    outputDir = join(dir.path, 'distribution')
    await mkdir(outputDir)
    daemon = await startDaemon(join(dir.path, 'daemon'), {
      args: ['--insecure', '--scheduler', scheduler.address],
      // The origin runs on loopback, which the seed source policy refuses to downloads for other hosts by default.
      env: { ...ALLOW_LOOPBACK_ORIGINS, DFDAEMON_DISTRIBUTION_OUTPUT_DIR: outputDir },
    })
    await waitFor(() => scheduler.hostStream !== undefined, 'the daemon to announce itself')
  })

  after(async () => {
    await (daemon as DaemonProcess | undefined)?.stop()
    await (scheduler as FakeScheduler | undefined)?.close()
    await (origin as OriginServer | undefined)?.close()
    await (dir as typeof dir | undefined)?.remove()
  })

  it('downloads a task, reporting progress while it runs and a success outcome at the end; stat says ABSENT before and SUCCEEDED after', TEST, async () => {
    const content = await makeRandomFile(join(dir.path, 'first.bin'), 8 * MiB)
    const url = origin.serve('/jobs/first.bin', content)
    // The scheduler computes task ids as the daemon does.
    const taskId = taskIdFor({ url, pieceLengthBytes: MiB })
    assert.equal((await scheduler.stat('stat-before', taskId)).state, TaskState.TASK_STATE_ABSENT)
    const sent = performance.now()
    // 8 MiB at 8 MiB/s: a second or so, long enough for several progress reports at 200 ms.
    scheduler.send(downloadTask('first', url, { progressIntervalMs: 200, rateLimitBytesPerSecond: 8 * MiB, download: { pieceLength: MiB } }))
    const outcome = await scheduler.outcome('first')
    const elapsedMs = performance.now() - sent
    assert.equal(outcome.success, true, `${outcome.code}: ${outcome.reason}`)
    assert.equal(outcome.contentLength, content.length)
    assert.equal(outcome.totalPieces, 8)
    assert.equal(outcome.taskId, taskId)
    assert.ok(outcome.costMs > 0 && outcome.costMs <= elapsedMs + 50, `cost ${outcome.costMs} ms within the ${Math.round(elapsedMs)} ms seen`)

    const progress = scheduler.progressOf('first')
    assert.ok(progress.length >= 2, `progress reports: ${progress.length}`)
    const indexOfOutcome = scheduler.reports.findIndex((report) => report.$case === 'downloadTaskOutcome' && report.value.requestId === 'first')
    const indexOfLastProgress = scheduler.reports.findLastIndex((report) => report.$case === 'downloadTaskProgress' && report.value.requestId === 'first')
    assert.ok(indexOfLastProgress < indexOfOutcome, 'no progress after the outcome')
    for (const [index, report] of progress.entries()) {
      assert.equal(report.taskId, outcome.taskId)
      assert.ok(report.contentLength === 0 || report.contentLength === content.length)
      assert.ok(report.totalPieces === 0 || report.totalPieces === 8)
      assert.ok(report.completedBytes <= content.length)
      assert.ok(index === 0 || report.completedBytes >= (progress[index - 1]?.completedBytes ?? 0), 'completed bytes never go back')
    }
    assert.ok(progress.some((report) => report.contentLength === content.length && report.totalPieces === 8), 'the length is reported once known')

    const stored = await socketGet(daemon.socketPath, `/v1/tasks/${outcome.taskId}`)
    assert.equal(stored.status, 200)
    assert.equal((JSON.parse(stored.body) as { complete: boolean }).complete, true)
    const succeeded = await scheduler.stat('stat-after', outcome.taskId)
    assert.deepEqual({ state: succeeded.state, contentLength: succeeded.contentLength, finishedPieces: succeeded.finishedPieces, totalPieces: succeeded.totalPieces }, {
      state: TaskState.TASK_STATE_SUCCEEDED, contentLength: content.length, finishedPieces: 8, totalPieces: 8,
    })
    assert.ok(succeeded.createdAtMs > 0 && succeeded.updatedAtMs >= succeeded.createdAtMs)
    assert.equal((await origin.settledStatsOf('/jobs/first.bin')).bodyBytesSent, content.length, 'the origin sent the content once')
    assert.equal(await metricValue(daemon.metricsAddress(), 'damselfly_dfdaemon_host_commands_total{command="download_task",outcome="succeeded"}'), 1)
    firstTask = { taskId: outcome.taskId, url, sha256: content.sha256, length: content.length }
  })

  it('writes a task already in the store to an output path under distribution.outputDir at once, and ignores the same request id twice', TEST, async () => {
    const before = { ...origin.statsOf('/jobs/first.bin') }
    const command = downloadTask('to-path', firstTask.url, { outputPath: 'models/v1/first.bin', download: { pieceLength: MiB } })
    scheduler.send(command)
    scheduler.send(command)
    const outcome = await scheduler.outcome('to-path')
    assert.equal(outcome.success, true, `${outcome.code}: ${outcome.reason}`)
    assert.equal(outcome.taskId, firstTask.taskId)
    const target = join(outputDir, 'models', 'v1', 'first.bin')
    assert.equal(await sha256File(target), firstTask.sha256)
    assert.equal((await stat(target)).size, firstTask.length)
    assert.deepEqual(await readdir(join(outputDir, 'models', 'v1')), ['first.bin'], 'no temporary file is left')
    assert.deepEqual({ heads: origin.statsOf('/jobs/first.bin').heads, gets: origin.statsOf('/jobs/first.bin').gets }, { heads: before.heads, gets: before.gets }, 'served from the store')
    await waitFor(async () => (await metricValue(daemon.metricsAddress(), 'damselfly_dfdaemon_host_commands_total{command="download_task",outcome="ignored"}')) === 1, 'the repeated command to be counted as ignored')
    assert.equal(scheduler.outcomesOf('to-path').length, 1, 'one outcome for the two commands')
  })

  it('refuses an output path that leaves distribution.outputDir with OUTPUT_INVALID, without touching the origin', TEST, async () => {
    const content = await makeRandomFile(join(dir.path, 'escape.bin'), MiB)
    const url = origin.serve('/jobs/escape.bin', content)
    scheduler.send(downloadTask('escape', url, { outputPath: '../outside.bin' }))
    const outcome = await scheduler.outcome('escape')
    assert.equal(outcome.success, false)
    assert.equal(outcome.code, 'OUTPUT_INVALID')
    assert.match(outcome.reason, /\.\. segment/)
    const stats = origin.statsOf('/jobs/escape.bin')
    assert.deepEqual({ heads: stats.heads, gets: stats.gets }, { heads: 0, gets: 0 })
    await assert.rejects(stat(join(dir.path, 'outside.bin')), { code: 'ENOENT' })
  })

  it('cancels a running download: the outcome is CANCELLED and the task no longer runs', TEST, async () => {
    const content = await makeRandomFile(join(dir.path, 'slow.bin'), 4 * MiB)
    let release: () => void = () => undefined
    const held = new Promise<void>((resolve) => (release = resolve))
    const url = origin.serve('/jobs/slow.bin', content, { holdGets: held })
    try {
      scheduler.send(downloadTask('slow', url, { progressIntervalMs: 200 }))
      await waitFor(() => origin.statsOf('/jobs/slow.bin').gets > 0, 'the download to reach the origin')
      const running = scheduler.progressOf('slow')[0]
      const taskId = running?.taskId ?? (await waitForTaskId(scheduler, 'slow'))
      assert.equal((await scheduler.stat('stat-running', taskId)).state, TaskState.TASK_STATE_RUNNING)
      scheduler.send({ $case: 'cancelDownloadTask', value: { requestId: 'slow', reason: 'job cancelled' } })
      const outcome = await scheduler.outcome('slow')
      assert.equal(outcome.success, false)
      assert.equal(outcome.code, 'CANCELLED')
      assert.match(outcome.reason, /job cancelled/)
      assert.notEqual((await scheduler.stat('stat-cancelled', taskId)).state, TaskState.TASK_STATE_RUNNING)
    } finally {
      release()
    }
  })

  it('deletes a task: deleted, then ABSENT, and a second delete finds nothing', TEST, async () => {
    assert.deepEqual(await scheduler.delete('delete-1', firstTask.taskId), { requestId: 'delete-1', taskId: firstTask.taskId, deleted: true, error: '' })
    assert.equal((await scheduler.stat('stat-deleted', firstTask.taskId)).state, TaskState.TASK_STATE_ABSENT)
    assert.equal((await socketGet(daemon.socketPath, `/v1/tasks/${firstTask.taskId}`)).status, 404)
    assert.equal((await scheduler.delete('delete-2', firstTask.taskId)).deleted, false)
    // The copy at the output path is the operator's: deleting the task leaves it.
    assert.equal(await sha256File(join(outputDir, 'models', 'v1', 'first.bin')), firstTask.sha256)
  })

  it('answers a malformed command with an error and carries on', TEST, async () => {
    const refused = await scheduler.delete('delete-bad', 'NOT-A-TASK')
    assert.equal(refused.deleted, false)
    assert.match(refused.error, /INVALID_ARGUMENT/)
    scheduler.send(downloadTask('', 'https://origin.test/x'))
    await waitFor(() => scheduler.reports.some((report) => report.$case === 'downloadTaskOutcome' && report.value.requestId === '' && report.value.code === 'INVALID_ARGUMENT'), 'the refusal of an empty request id')
    assert.equal((await socketGet(daemon.socketPath, '/healthy')).status, 200)
  })

  it('holds a download to its own rate limit: 4 MiB at 2 MiB/s takes over 1.5 s', TEST, async () => {
    const content = await makeRandomFile(join(dir.path, 'capped.bin'), 4 * MiB)
    const url = origin.serve('/jobs/capped.bin', content)
    const sent = performance.now()
    scheduler.send(downloadTask('capped', url, { rateLimitBytesPerSecond: 2 * MiB }))
    const outcome = await scheduler.outcome('capped')
    const elapsedMs = performance.now() - sent
    assert.equal(outcome.success, true, `${outcome.code}: ${outcome.reason}`)
    // 2 s at the cap, less the first burst; far more than the few milliseconds a local origin takes.
    assert.ok(elapsedMs >= 1_500, `took ${Math.round(elapsedMs)} ms`)
    assert.ok(outcome.costMs >= 1_500, `cost ${outcome.costMs} ms`)
    assert.ok(elapsedMs < 15_000, `took ${Math.round(elapsedMs)} ms`)
  })
})

/** The task id of a running download, from its first progress report. */
async function waitForTaskId(scheduler: FakeScheduler, requestId: string): Promise<string> {
  await waitFor(() => scheduler.progressOf(requestId).length > 0, `a progress report of ${requestId}`)
  return scheduler.progressOf(requestId)[0]?.taskId ?? ''
}

describe('a download_task runs under the seed source policy', TIMEOUT, () => {
  let dir!: Awaited<ReturnType<typeof tempDir>>
  let origin!: OriginServer
  let scheduler!: FakeScheduler
  let daemon!: DaemonProcess

  before(async () => {
    dir = await tempDir('host-commands-policy')
    origin = await OriginServer.start()
    scheduler = await FakeScheduler.start()
    // The default policy: no loopback for downloads on behalf of other hosts.
    daemon = await startDaemon(join(dir.path, 'daemon'), { args: ['--insecure', '--scheduler', scheduler.address] })
    await waitFor(() => scheduler.hostStream !== undefined, 'the daemon to announce itself')
  })

  after(async () => {
    await (daemon as DaemonProcess | undefined)?.stop()
    await (scheduler as FakeScheduler | undefined)?.close()
    await (origin as OriginServer | undefined)?.close()
    await (dir as typeof dir | undefined)?.remove()
  })

  it('refuses an origin on loopback with SOURCE_NOT_ALLOWED, as for a seed task', TEST, async () => {
    const content = await makeRandomFile(join(dir.path, 'internal.bin'), MiB)
    const url = origin.serve('/internal.bin', content)
    scheduler.send(downloadTask('internal', url))
    const outcome = await scheduler.outcome('internal')
    assert.equal(outcome.success, false)
    assert.equal(outcome.code, 'SOURCE_NOT_ALLOWED')
    const stats = origin.statsOf('/internal.bin')
    assert.deepEqual({ heads: stats.heads, gets: stats.gets }, { heads: 0, gets: 0 }, 'the origin never heard of it')
  })
})
