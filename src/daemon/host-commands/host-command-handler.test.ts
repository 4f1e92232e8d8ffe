import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { describe, it } from 'node:test'
import { Registry } from 'prom-client'
import { systemClock } from '../../common/clock.js'
import { silentLogger } from '../../common/logger.js'
import { DamselflyError } from '../../protocol/damselfly-error.js'
import type { TaskId } from '../../protocol/ids.js'
import {
  TaskState,
  type Download, type DownloadTaskOutcome, type DownloadTaskProgress, type TaskDeleted, type TaskStat,
} from '../../protocol/generated/damselfly/scheduler/v1/scheduler.js'
import type { StoredTask, TaskDescriptor } from '../../storage/content-store.js'
import { MemoryContentStore } from '../../storage/memory-content-store.js'
import { writeWholePiece } from '../../storage/piece-writer.js'
import { DaemonMetrics } from '../daemon-metrics.js'
import type { DownloadRequest } from '../download/download-request.js'
import type { TaskHandle } from '../download/task-manager.js'
import type { CommandChannel, HostCommand, HostReport } from '../scheduler-client/host-announcer.js'
import type { CommandTasks } from './command-download.js'
import { HostCommandHandler } from './host-command-handler.js'

const TEST = { timeout: 10_000 }
const PIECE_BYTES = 64 * 1024

function taskIdOf(url: string): TaskId {
  return createHash('sha256').update(url).digest('hex') as TaskId
}

function download(url: string, extra: Partial<Download> = {}): Download {
  return { url, headers: {}, tag: '', application: '', filteredQueryParams: [], pieceLength: 0, priority: 6, digest: '', disableBackToSource: false, ...extra }
}

/** A task manager whose downloads end when the test says. */
class FakeTasks implements CommandTasks {
  readonly requests: DownloadRequest[] = []
  readonly aborted: Array<{ taskId: TaskId; reason: string }> = []
  private readonly runningDownloads = new Map<TaskId, { resolve: (task: StoredTask) => void; reject: (error: Error) => void }>()

  identify(request: DownloadRequest): { taskId: TaskId; filteredUrl: string; filteredQueryParams: readonly string[] } {
    return { taskId: taskIdOf(request.url), filteredUrl: request.url, filteredQueryParams: [] }
  }

  download(request: DownloadRequest): TaskHandle {
    this.requests.push(request)
    const { taskId } = this.identify(request)
    const done = new Promise<StoredTask>((resolve, reject) => {
      this.runningDownloads.set(taskId, { resolve, reject })
    })
    done.catch(() => undefined)
    const forget = (): void => {
      this.runningDownloads.delete(taskId)
    }
    done.then(forget, forget)
    return { taskId, descriptor: new Promise(() => undefined), done, send: () => Promise.resolve() }
  }

  finish(taskId: TaskId, task: StoredTask): void {
    this.runningDownloads.get(taskId)?.resolve(task)
  }

  fail(taskId: TaskId, error: DamselflyError): void {
    this.runningDownloads.get(taskId)?.reject(error)
  }

  abort(taskId: TaskId, reason: string): Promise<boolean> {
    this.aborted.push({ taskId, reason })
    const running = this.runningDownloads.get(taskId)
    running?.reject(new DamselflyError('CANCELLED', reason))
    return Promise.resolve(running !== undefined)
  }

  isRunning(taskId: TaskId): boolean {
    return this.runningDownloads.has(taskId)
  }
}

/** A stream's way back, recording what the host answered. */
class RecordingChannel implements CommandChannel {
  readonly scheduler = '127.0.0.1:8002'
  readonly reports: HostReport[] = []
  open = true

  reply(report: HostReport): boolean {
    if (!this.open) return false
    this.reports.push(report)
    return true
  }

  outcomes(): DownloadTaskOutcome[] {
    return this.reports.flatMap((report) => (report.$case === 'downloadTaskOutcome' ? [report.value] : []))
  }

  progress(): DownloadTaskProgress[] {
    return this.reports.flatMap((report) => (report.$case === 'downloadTaskProgress' ? [report.value] : []))
  }

  stats(): TaskStat[] {
    return this.reports.flatMap((report) => (report.$case === 'taskStat' ? [report.value] : []))
  }

  deletions(): TaskDeleted[] {
    return this.reports.flatMap((report) => (report.$case === 'taskDeleted' ? [report.value] : []))
  }
}

async function waitUntil<T>(what: string, read: () => T | undefined, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = read()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

async function setup(init: { outputDir?: string } = {}): Promise<{ handler: HostCommandHandler; tasks: FakeTasks; store: MemoryContentStore; channel: RecordingChannel; registry: Registry }> {
  const registry = new Registry()
  const store = new MemoryContentStore({ logger: silentLogger() })
  await store.open()
  const tasks = new FakeTasks()
  const handler = new HostCommandHandler({ tasks, store, metrics: new DaemonMetrics(registry), logger: silentLogger(), clock: systemClock }, { outputDir: init.outputDir ?? '' })
  return { handler, tasks, store, channel: new RecordingChannel(), registry }
}

/** A task of `pieces` whole pieces in the store, `stored` of them written, complete when all are. */
async function storedTask(store: MemoryContentStore, taskId: TaskId, pieces: number, stored: number): Promise<StoredTask> {
  const descriptor: TaskDescriptor = { taskId, url: 'https://origin.test/x', contentLengthBytes: pieces * PIECE_BYTES, pieceLengthBytes: PIECE_BYTES, createdAtMs: 1_700_000_000_000 }
  const task = await store.create(descriptor)
  for (let number = 0; number < stored; number++) await writeWholePiece(task, number, [Buffer.alloc(PIECE_BYTES, number)])
  if (stored === pieces) await task.finish()
  return task
}

function downloadCommand(requestId: string, url: string, extra: { rate?: number; outputPath?: string; progressIntervalMs?: number; download?: Download | undefined } = {}): HostCommand {
  return {
    $case: 'downloadTask',
    value: {
      requestId,
      download: 'download' in extra ? extra.download : download(url),
      rateLimitBytesPerSecond: extra.rate ?? 0,
      outputPath: extra.outputPath ?? '',
      progressIntervalMs: extra.progressIntervalMs ?? 0,
    },
  }
}

async function counted(registry: Registry, command: string, outcome: string): Promise<number> {
  const metric = await registry.getSingleMetric('damselfly_dfdaemon_host_commands_total')?.get()
  return metric?.values.find((value) => value.labels['command'] === command && value.labels['outcome'] === outcome)?.value ?? 0
}

describe('HostCommandHandler: download_task', TEST, () => {
  it('downloads on behalf of another host, without pinning a scheduler, and answers a success outcome', TEST, async () => {
    const { handler, tasks, store, channel, registry } = await setup()
    const url = 'https://origin.test/model.bin'
    handler.handle(downloadCommand('r1', url), channel)
    const taskId = taskIdOf(url)
    await waitUntil('the download', () => tasks.requests[0])
    assert.equal(tasks.requests[0]?.onBehalfOf, 'other-host')
    assert.equal(tasks.requests[0]?.scheduler, undefined, 'normal rendezvous routing')
    assert.equal(tasks.requests[0]?.rateLimiter, undefined, 'no cap of its own')
    tasks.finish(taskId, await storedTask(store, taskId, 3, 3))
    const outcome = await waitUntil('the outcome', () => channel.outcomes()[0])
    assert.deepEqual({ ...outcome, costMs: 0 }, { requestId: 'r1', taskId, success: true, code: '', reason: '', contentLength: 3 * PIECE_BYTES, totalPieces: 3, costMs: 0 })
    assert.equal(channel.progress().length, 0, 'progress_interval_ms 0: outcome only')
    assert.equal(await counted(registry, 'download_task', 'succeeded'), 1)
  })

  it('reports progress from the store while the download runs', TEST, async () => {
    const { handler, tasks, store, channel } = await setup()
    const url = 'https://origin.test/big.bin'
    const taskId = taskIdOf(url)
    const task = await storedTask(store, taskId, 4, 2)
    handler.handle(downloadCommand('r2', url, { progressIntervalMs: 1 }), channel)
    const first = await waitUntil('a progress report', () => channel.progress()[0])
    assert.deepEqual({ ...first, bytesPerSecond: 0 }, { requestId: 'r2', taskId, completedBytes: 2 * PIECE_BYTES, contentLength: 4 * PIECE_BYTES, finishedPieces: 2, totalPieces: 4, bytesPerSecond: 0 })
    await writeWholePiece(task, 2, [Buffer.alloc(PIECE_BYTES, 2)])
    const later = await waitUntil('a report of the third piece', () => channel.progress().find((progress) => progress.finishedPieces === 3))
    assert.ok(later.bytesPerSecond > 0, 'the rate follows the stored bytes')
    await writeWholePiece(task, 3, [Buffer.alloc(PIECE_BYTES, 3)])
    await task.finish()
    tasks.finish(taskId, task)
    await waitUntil('the outcome', () => channel.outcomes()[0])
    const count = channel.progress().length
    await new Promise((resolve) => setTimeout(resolve, 250))
    assert.equal(channel.progress().length, count, 'no progress after the outcome')
  })

  it('gives a command with a rate limit its own bucket', TEST, async () => {
    const { handler, tasks, channel } = await setup()
    handler.handle(downloadCommand('r3', 'https://origin.test/capped.bin', { rate: 2 * 1024 * 1024 }), channel)
    const request = await waitUntil('the download', () => tasks.requests[0])
    assert.equal(request.rateLimiter?.rateBytesPerSecond, 2 * 1024 * 1024)
  })

  it('ignores a repeated request id, while running and after its outcome', TEST, async () => {
    const { handler, tasks, store, channel, registry } = await setup()
    const url = 'https://origin.test/once.bin'
    const taskId = taskIdOf(url)
    handler.handle(downloadCommand('same', url), channel)
    await waitUntil('the download', () => tasks.requests[0])
    handler.handle(downloadCommand('same', url), channel)
    tasks.finish(taskId, await storedTask(store, taskId, 1, 1))
    await waitUntil('the outcome', () => channel.outcomes()[0])
    handler.handle(downloadCommand('same', url), channel)
    await handler.stop()
    assert.equal(tasks.requests.length, 1)
    assert.equal(channel.outcomes().length, 1)
    assert.equal(await counted(registry, 'download_task', 'ignored'), 2)
  })

  it('answers a failed download with its code and a one-line reason', TEST, async () => {
    const { handler, tasks, channel, registry } = await setup()
    const url = 'https://origin.test/missing.bin'
    handler.handle(downloadCommand('r4', url), channel)
    await waitUntil('the download', () => tasks.requests[0])
    tasks.fail(taskIdOf(url), new DamselflyError('SOURCE_STATUS', 'origin answered 404\nwith a body'))
    const outcome = await waitUntil('the outcome', () => channel.outcomes()[0])
    assert.equal(outcome.success, false)
    assert.equal(outcome.code, 'SOURCE_STATUS')
    assert.equal(outcome.reason, 'origin answered 404')
    assert.equal(outcome.taskId, taskIdOf(url))
    assert.equal(await counted(registry, 'download_task', 'failed'), 1)
  })

  it('cancels a running download: the task manager aborts it, the outcome says CANCELLED', TEST, async () => {
    const { handler, tasks, channel, registry } = await setup()
    const url = 'https://origin.test/slow.bin'
    handler.handle(downloadCommand('r5', url), channel)
    await waitUntil('the download', () => tasks.requests[0])
    handler.handle({ $case: 'cancelDownloadTask', value: { requestId: 'r5', reason: 'job deleted' } }, channel)
    const outcome = await waitUntil('the outcome', () => channel.outcomes()[0])
    assert.equal(outcome.code, 'CANCELLED')
    assert.match(outcome.reason, /job deleted/)
    assert.deepEqual(tasks.aborted, [{ taskId: taskIdOf(url), reason: 'job deleted' }])
    assert.equal(await counted(registry, 'cancel_download_task', 'succeeded'), 1)
    handler.handle({ $case: 'cancelDownloadTask', value: { requestId: 'r5', reason: '' } }, channel)
    assert.equal(await counted(registry, 'cancel_download_task', 'ignored'), 1, 'a cancel after the outcome changes nothing')
  })

  it('refuses an output path when writing to paths is off, before downloading anything', TEST, async () => {
    const { handler, tasks, channel } = await setup()
    handler.handle(downloadCommand('r6', 'https://origin.test/x.bin', { outputPath: 'x.bin' }), channel)
    const outcome = await waitUntil('the outcome', () => channel.outcomes()[0])
    assert.equal(outcome.code, 'OUTPUT_INVALID')
    assert.match(outcome.reason, /distribution\.outputDir/)
    assert.equal(tasks.requests.length, 0)
  })

  it('drops reports once the command\'s stream ended, and carries on', TEST, async () => {
    const { handler, tasks, store, channel } = await setup()
    const url = 'https://origin.test/orphan.bin'
    handler.handle(downloadCommand('r7', url, { progressIntervalMs: 1 }), channel)
    await waitUntil('the download', () => tasks.requests[0])
    channel.open = false
    const taskId = taskIdOf(url)
    tasks.finish(taskId, await storedTask(store, taskId, 1, 1))
    await handler.stop()
    assert.equal(channel.outcomes().length, 0)
  })

  const refusals: ReadonlyArray<{ name: string; command: HostCommand; code: string; reason: RegExp }> = [
    { name: 'an empty request id', command: downloadCommand('', 'https://origin.test/a'), code: 'INVALID_ARGUMENT', reason: /request_id is empty/ },
    { name: 'a request id too long', command: downloadCommand('r'.repeat(129), 'https://origin.test/a'), code: 'INVALID_ARGUMENT', reason: /request_id is longer than 128/ },
    { name: 'a request id with a control character', command: downloadCommand('r\n1', 'https://origin.test/a'), code: 'INVALID_ARGUMENT', reason: /visible ASCII/ },
    { name: 'no download', command: downloadCommand('r8', '', { download: undefined }), code: 'INVALID_ARGUMENT', reason: /download is missing/ },
    { name: 'an unsupported scheme', command: downloadCommand('r9', 'ftp://origin.test/a'), code: 'UNSUPPORTED_SCHEME', reason: /ftp/ },
    { name: 'credentials in the URL', command: downloadCommand('r10', 'https://user:secret@origin.test/a'), code: 'INVALID_ARGUMENT', reason: /credentials in the URL/ },
    { name: 'a malformed digest', command: { $case: 'downloadTask', value: { requestId: 'r11', download: download('https://origin.test/a', { digest: 'md5:zz' }), rateLimitBytesPerSecond: 0, outputPath: '', progressIntervalMs: 0 } }, code: 'INVALID_ARGUMENT', reason: /digest/ },
  ]
  for (const { name, command, code, reason } of refusals) {
    it(`refuses ${name} with a failed outcome`, TEST, async () => {
      const { handler, tasks, channel, registry } = await setup()
      handler.handle(command, channel)
      const outcome = await waitUntil('the outcome', () => channel.outcomes()[0])
      assert.equal(outcome.success, false)
      assert.equal(outcome.code, code)
      assert.match(outcome.reason, reason)
      assert.equal(tasks.requests.length, 0)
      assert.equal(await counted(registry, 'download_task', 'invalid'), 1)
    })
  }
})

describe('HostCommandHandler: stat_task and delete_task', TEST, () => {
  const statOf = async (setupDone: Awaited<ReturnType<typeof setup>>, taskId: string): Promise<TaskStat> => {
    setupDone.handler.handle({ $case: 'statTask', value: { requestId: `stat-${setupDone.channel.reports.length}`, taskId } }, setupDone.channel)
    return waitUntil('the stat', () => setupDone.channel.stats().at(-1))
  }

  it('answers ABSENT, PARTIAL, RUNNING and SUCCEEDED from the store and the running downloads', TEST, async () => {
    const context = await setup()
    const url = 'https://origin.test/stat.bin'
    const taskId = taskIdOf(url)
    assert.equal((await statOf(context, taskId)).state, TaskState.TASK_STATE_ABSENT)
    const task = await storedTask(context.store, taskId, 3, 1)
    const partial = await statOf(context, taskId)
    assert.deepEqual({ ...partial, requestId: '', updatedAtMs: 0 }, {
      requestId: '', taskId, state: TaskState.TASK_STATE_PARTIAL, contentLength: 3 * PIECE_BYTES, finishedPieces: 1, totalPieces: 3, createdAtMs: 1_700_000_000_000, updatedAtMs: 0,
    })
    context.handler.handle(downloadCommand('run', url), context.channel)
    await waitUntil('the download', () => context.tasks.requests[0])
    assert.equal((await statOf(context, taskId)).state, TaskState.TASK_STATE_RUNNING)
    await writeWholePiece(task, 1, [Buffer.alloc(PIECE_BYTES)])
    await writeWholePiece(task, 2, [Buffer.alloc(PIECE_BYTES)])
    await task.finish()
    context.tasks.finish(taskId, task)
    await waitUntil('the outcome', () => context.channel.outcomes()[0])
    const done = await statOf(context, taskId)
    assert.equal(done.state, TaskState.TASK_STATE_SUCCEEDED)
    assert.equal(done.finishedPieces, 3)
    assert.ok(done.updatedAtMs > 0)
  })

  it('answers a stat with a malformed task id with an unspecified state', TEST, async () => {
    const context = await setup()
    const stat = await statOf(context, 'not-a-task-id')
    assert.equal(stat.state, TaskState.TASK_STATE_UNSPECIFIED)
    assert.equal(await counted(context.registry, 'stat_task', 'invalid'), 1)
  })

  const deleteOf = async (context: Awaited<ReturnType<typeof setup>>, taskId: string, requestId = 'del'): Promise<TaskDeleted> => {
    const before = context.channel.deletions().length
    context.handler.handle({ $case: 'deleteTask', value: { requestId, taskId } }, context.channel)
    return waitUntil('the deletion', () => context.channel.deletions()[before])
  }

  it('deletes a stored task, and says so; a task not there is not deleted', TEST, async () => {
    const context = await setup()
    const taskId = taskIdOf('https://origin.test/delete.bin')
    await storedTask(context.store, taskId, 2, 2)
    assert.deepEqual(await deleteOf(context, taskId), { requestId: 'del', taskId, deleted: true, error: '' })
    assert.equal(context.store.get(taskId), undefined)
    assert.deepEqual(await deleteOf(context, taskId), { requestId: 'del', taskId, deleted: false, error: '' })
  })

  it('aborts a running download of the task before deleting it', TEST, async () => {
    const context = await setup()
    const url = 'https://origin.test/running.bin'
    const taskId = taskIdOf(url)
    await storedTask(context.store, taskId, 4, 1)
    context.handler.handle(downloadCommand('job', url), context.channel)
    await waitUntil('the download', () => context.tasks.requests[0])
    assert.equal((await deleteOf(context, taskId)).deleted, true)
    assert.deepEqual(context.tasks.aborted, [{ taskId, reason: 'the task is being deleted' }])
    assert.equal((await waitUntil('the outcome', () => context.channel.outcomes()[0])).code, 'CANCELLED')
  })

  it('does not delete a task a reader holds, as garbage collection does not', TEST, async () => {
    const context = await setup()
    const taskId = taskIdOf('https://origin.test/held.bin')
    const task = await storedTask(context.store, taskId, 1, 1)
    const release = task.acquire()
    const answer = await deleteOf(context, taskId)
    assert.equal(answer.deleted, false)
    assert.match(answer.error, /in use/)
    assert.notEqual(context.store.get(taskId), undefined)
    release()
    assert.equal((await deleteOf(context, taskId)).deleted, true)
    assert.equal(await counted(context.registry, 'delete_task', 'failed'), 1)
  })

  it('answers a delete with a malformed task id with an error', TEST, async () => {
    const context = await setup()
    const answer = await deleteOf(context, 'ABC')
    assert.equal(answer.deleted, false)
    assert.match(answer.error, /INVALID_ARGUMENT: task_id must be 64 lowercase hex digits/)
  })
})
