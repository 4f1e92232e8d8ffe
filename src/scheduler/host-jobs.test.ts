import assert from 'node:assert/strict'
import { afterEach, beforeEach, describe, it } from 'node:test'
import { credentials, status, type ClientDuplexStream, type ServiceError } from '@grpc/grpc-js'
import { silentLogger } from '../common/logger.js'
import type { HostId } from '../protocol/ids.js'
import { SCHEDULER_PROTOCOL_REVISION } from '../protocol/scheduler-protocol.js'
import { taskIdFor } from '../protocol/task-id.js'
import {
  HostSelection_Scope,
  SchedulerServiceClient,
  TaskState,
  type AnnounceHostRequest,
  type AnnounceHostResponse,
  type DownloadTask,
  type Host,
  type HostDownloadOutcome,
  type HostSelection,
  type RunDownloadsEvent,
  type RunDownloadsRequest,
} from '../protocol/generated/damselfly/scheduler/v1/scheduler.js'
import { resolveSchedulerConfig } from './config.js'
import { download, waitFor } from './resource-fixtures.js'
import { Scheduler } from './scheduler.js'
import { seedHostFor } from './seed-selection.js'

const TEST = { timeout: 20_000 }

type Command = NonNullable<AnnounceHostResponse['command']>
type CommandValue<C extends Command['$case']> = Extract<Command, { $case: C }>['value']
type HostReport = NonNullable<AnnounceHostRequest['report']>

/**
 * A host's announce stream, answering commands as a daemon would: a download with one progress
 * report and a success, a stat with `statState`, a delete with `deleted`. A `silent` host answers
 * nothing: the test answers for it, or closes its stream.
 */
class FakeHost {
  readonly commands: Command[] = []
  readonly stream: ClientDuplexStream<AnnounceHostRequest, AnnounceHostResponse>
  error: ServiceError | undefined
  silent = false
  statState = TaskState.TASK_STATE_SUCCEEDED
  deleted = true

  constructor(client: SchedulerServiceClient, readonly id: string, readonly ip: string, readonly seed: boolean) {
    this.stream = client.announceHost()
    this.stream.on('data', (message: AnnounceHostResponse) => {
      if (message.command === undefined) return
      this.commands.push(message.command)
      if (!this.silent) this.answer(message.command)
    })
    this.stream.on('error', (error: ServiceError) => (this.error = error))
    this.announce()
  }

  announce(extra: Partial<Host> = {}): void {
    this.stream.write({
      host: {
        id: this.id, ip: this.ip, hostname: this.hostname, uploadPort: 65002, idc: '', location: '', seed: this.seed, disableShared: false,
        concurrentUploadLimit: 10, concurrentUploadCount: 0, uploadCapacityBytesPerSecond: 0, uploadTls: false, ...extra,
      },
      report: undefined,
    })
  }

  get hostname(): string {
    return `${this.id}.test`
  }

  send(report: HostReport): void {
    this.stream.write({ host: undefined, report })
  }

  received<C extends Command['$case']>(c: C): Array<CommandValue<C>> {
    return this.commands.flatMap((command) => (command.$case === c ? [command.value as CommandValue<C>] : []))
  }

  succeed(task: DownloadTask): void {
    const taskId = taskIdFor({ url: task.download?.url ?? '', filteredQueryParams: task.download?.filteredQueryParams ?? [] })
    this.send({ $case: 'downloadTaskProgress', value: { requestId: task.requestId, taskId, completedBytes: 4, contentLength: 8, finishedPieces: 1, totalPieces: 2, bytesPerSecond: 100 } })
    this.send({ $case: 'downloadTaskOutcome', value: { requestId: task.requestId, taskId, success: true, code: '', reason: '', contentLength: 8, totalPieces: 2, costMs: 5 } })
  }

  private answer(command: Command): void {
    switch (command.$case) {
      case 'downloadTask':
        this.succeed(command.value)
        return
      case 'statTask':
        this.send({ $case: 'taskStat', value: { ...command.value, state: this.statState, contentLength: 8, finishedPieces: 2, totalPieces: 2, createdAtMs: 1, updatedAtMs: 2 } })
        return
      case 'deleteTask':
        this.send({ $case: 'taskDeleted', value: { ...command.value, deleted: this.deleted, error: '' } })
        return
      default:
        return
    }
  }
}

/** One RunDownloads call with every event it received and how it ended. */
class Run {
  readonly events: RunDownloadsEvent[] = []
  readonly ended: Promise<ServiceError | null>
  readonly call

  constructor(client: SchedulerServiceClient, request: RunDownloadsRequest) {
    this.call = client.runDownloads(request)
    this.call.on('data', (event: RunDownloadsEvent) => this.events.push(event))
    this.ended = new Promise((resolve) => {
      this.call.on('end', () => resolve(null))
      this.call.on('error', (error: ServiceError) => resolve(error))
    })
  }

  get started(): { taskIds: string[]; hostIds: string[] } | undefined {
    const first = this.events[0]?.event
    return first?.$case === 'started' ? { taskIds: first.value.taskIds, hostIds: first.value.hosts.map((h) => h.hostId) } : undefined
  }

  get outcomes(): HostDownloadOutcome[] {
    return this.events.flatMap((e) => (e.event?.$case === 'outcome' ? [e.event.value] : []))
  }

  get progressCount(): number {
    return this.events.filter((e) => e.event?.$case === 'progress').length
  }

  /** Each outcome as `host/download index: success or code`, sorted. */
  summary(): string[] {
    return this.outcomes.map((o) => `${o.host?.hostId || o.host?.ip}/${o.downloadIndex}: ${o.outcome?.success === true ? 'ok' : o.outcome?.code}`).sort()
  }
}

const [URL_1, URL_2] = ['http://origin.test/layer-1', 'http://origin.test/layer-2'] as const
const URLS = [URL_1, URL_2]
const TASK_IDS = URLS.map((url) => taskIdFor({ url, filteredQueryParams: [] }))

function request(selection: Partial<HostSelection>, overrides: Partial<RunDownloadsRequest> = {}): RunDownloadsRequest {
  return {
    jobId: 'job-7',
    downloads: URLS.map((url) => download({ url })),
    selection: { scope: HostSelection_Scope.SCOPE_ALL_PEERS, hosts: [], count: 0, percentage: 0, ...selection },
    rateLimitBytesPerSecond: 2048,
    outputPath: 'out/layer',
    progressIntervalMs: 250,
    ...overrides,
  }
}

describe('HostJobs over gRPC: RunDownloads, StatTask, DeleteTask', TEST, () => {
  let scheduler: Scheduler
  let client: SchedulerServiceClient
  let hosts: FakeHost[] = []
  let peerStreams: Array<{ cancel(): void }> = []

  beforeEach(async () => {
    const config = resolveSchedulerConfig({
      flags: { server: { listenIP: '127.0.0.1', port: 0 }, metrics: { port: 0 }, security: { insecure: true } },
    })
    scheduler = new Scheduler(config, { logger: silentLogger() })
    await scheduler.start()
    client = new SchedulerServiceClient(scheduler.address!, credentials.createInsecure())
    hosts = []
    peerStreams = []
  })

  afterEach(async () => {
    for (const host of hosts) host.stream.cancel()
    for (const stream of peerStreams) stream.cancel()
    client.close()
    await scheduler.stop()
  })

  /** Hosts n1.. (normal) and s1.. (seed) at 10.0.0.<i> and 10.0.1.<i>, once the scheduler has them. */
  async function announce(normal: number, seeds: number): Promise<FakeHost[]> {
    const made = [
      ...Array.from({ length: normal }, (_, i) => new FakeHost(client, `n${i + 1}`, `10.0.0.${i + 1}`, false)),
      ...Array.from({ length: seeds }, (_, i) => new FakeHost(client, `s${i + 1}`, `10.0.1.${i + 1}`, true)),
    ]
    hosts.push(...made)
    for (const host of made) await waitFor(`host ${host.id}`, () => scheduler.store.hosts.get(host.id as HostId)?.stream)
    return made
  }

  async function counter(labels: string): Promise<number> {
    const text = await scheduler.registry.metrics()
    const line = text.split('\n').find((l) => l.startsWith(`damselfly_scheduler_job_commands_total${labels} `))
    assert.ok(line !== undefined, `the scheduler exports damselfly_scheduler_job_commands_total${labels}`)
    return Number(line.split(' ')[1])
  }

  it('runs every download on every peer, relays progress and outcomes, and ends OK', TEST, async () => {
    const [n1, n2, s1] = await announce(2, 1)
    const run = new Run(client, request({}))
    assert.equal(await run.ended, null)
    assert.deepEqual(run.started, { taskIds: TASK_IDS, hostIds: ['n1', 'n2', 's1'] })
    assert.deepEqual(run.summary(), ['n1/0: ok', 'n1/1: ok', 'n2/0: ok', 'n2/1: ok', 's1/0: ok', 's1/1: ok'])
    assert.equal(run.progressCount, 6)
    const progress = run.events.find((e) => e.event?.$case === 'progress')
    assert.equal(progress?.event?.$case === 'progress' ? progress.event.value.progress?.completedBytes : undefined, 4)
    for (const host of [n1!, n2!, s1!]) {
      const tasks = host.received('downloadTask')
      assert.deepEqual(tasks.map((t) => t.download?.url), URLS, host.id)
      assert.deepEqual(tasks.map((t) => [t.rateLimitBytesPerSecond, t.outputPath, t.progressIntervalMs]), [[2048, 'out/layer', 250], [2048, 'out/layer', 250]])
    }
    const requestIds = [n1!, n2!, s1!].flatMap((h) => h.received('downloadTask').map((t) => t.requestId))
    assert.equal(new Set(requestIds).size, 6, 'one request id per (host, download)')
    assert.equal(await counter('{command="download_task",outcome="succeeded"}'), 6)
  })

  it('runs each download on the one seed the scheduler would ask to fetch its task', TEST, async () => {
    const made = await announce(1, 3)
    const seeds = made.filter((h) => h.seed)
    const run = new Run(client, request({ scope: HostSelection_Scope.SCOPE_SINGLE_SEED_PEER }))
    assert.equal(await run.ended, null)
    const expected = TASK_IDS.map((taskId) => seedHostFor(taskId, seeds.map((h) => ({ id: h.id as HostId })))!.id)
    assert.deepEqual(run.summary(), expected.map((id, index) => `${id}/${index}: ok`).sort())
    assert.deepEqual(run.started?.hostIds, [...new Set(expected)].sort())
    assert.equal(made[0]!.commands.length, 0, 'a normal host is not asked')
  })

  it('runs on the seeds only for all seed peers, and ends with HOST_NOT_FOUND when there is none', TEST, async () => {
    const [n1, s1, s2] = await announce(1, 2)
    const run = new Run(client, request({ scope: HostSelection_Scope.SCOPE_ALL_SEED_PEERS }))
    assert.equal(await run.ended, null)
    assert.deepEqual(run.summary(), ['s1/0: ok', 's1/1: ok', 's2/0: ok', 's2/1: ok'])
    assert.equal(n1!.commands.length, 0)
    s1!.stream.end()
    s2!.stream.end()
    await waitFor('seeds gone', () => (scheduler.store.connectedSeedHosts().length === 0 ? true : undefined))
    const none = new Run(client, request({ scope: HostSelection_Scope.SCOPE_ALL_SEED_PEERS }))
    const error = await none.ended
    assert.equal(error?.code, status.NOT_FOUND)
    assert.match(error.details, /no seed peer is connected to this scheduler/)
    assert.deepEqual(none.events, [])
  })

  it('runs on the hosts listed by IP or hostname, and reports HOST_NOT_FOUND for a name nobody has', TEST, async () => {
    const [n1, n2] = await announce(3, 0)
    const run = new Run(client, request({ hosts: ['10.0.0.2', 'ghost', 'n1.test'] }))
    assert.equal(await run.ended, null)
    assert.deepEqual(run.started?.hostIds, ['n1', 'n2'])
    assert.deepEqual(run.summary(), ['ghost/0: HOST_NOT_FOUND', 'ghost/1: HOST_NOT_FOUND', 'n1/0: ok', 'n1/1: ok', 'n2/0: ok', 'n2/1: ok'])
    const ghost = run.outcomes.find((o) => o.host?.ip === 'ghost')
    assert.deepEqual(ghost?.host, { hostId: '', ip: 'ghost', hostname: '', seed: false })
    assert.match(ghost?.outcome?.reason ?? '', /no host connected to this scheduler has IP or hostname ghost/)
    assert.equal(n1!.commands.length + n2!.commands.length, 4)

    // Only names nobody has: the call still tells the manager so, and ends OK.
    const nobody = new Run(client, request({ hosts: ['ghost'] }))
    assert.equal(await nobody.ended, null)
    assert.deepEqual(nobody.started?.hostIds, [])
    assert.deepEqual(nobody.summary(), ['ghost/0: HOST_NOT_FOUND', 'ghost/1: HOST_NOT_FOUND'])
  })

  it('keeps a count or a percentage, rounded up, of the hosts by host id', TEST, async () => {
    await announce(4, 1)
    const counted = new Run(client, request({ count: 2 }, { downloads: [download({ url: URL_1 })] }))
    assert.equal(await counted.ended, null)
    assert.deepEqual(counted.started?.hostIds, ['n1', 'n2'])
    const share = new Run(client, request({ percentage: 50 }, { downloads: [download({ url: URL_1 })] }))
    assert.equal(await share.ended, null)
    assert.deepEqual(share.started?.hostIds, ['n1', 'n2', 'n3'], '50% of 5 hosts, rounded up')
    assert.deepEqual(share.summary(), ['n1/0: ok', 'n2/0: ok', 'n3/0: ok'])
  })

  it('fails a host\'s downloads with DAEMON_UNAVAILABLE when its stream ends, and still ends the call', TEST, async () => {
    const [n1, n2] = await announce(2, 0)
    n2!.silent = true
    const run = new Run(client, request({}))
    await waitFor('n2 asked', () => (n2!.received('downloadTask').length === 2 ? true : undefined))
    await waitFor('n1 done', () => (run.outcomes.length === 2 ? true : undefined))
    n2!.stream.cancel()
    assert.equal(await run.ended, null)
    assert.deepEqual(run.summary(), ['n1/0: ok', 'n1/1: ok', 'n2/0: DAEMON_UNAVAILABLE', 'n2/1: DAEMON_UNAVAILABLE'])
    const failed = run.outcomes.find((o) => o.host?.hostId === 'n2')
    assert.equal(failed?.outcome?.reason, 'host n2.test (10.0.0.2) disconnected during the download')
    assert.equal(failed?.outcome?.taskId, TASK_IDS[failed?.downloadIndex ?? 0])
    assert.equal(n1!.commands.length, 2)
    assert.equal(await counter('{command="download_task",outcome="disconnected"}'), 2)
  })

  it('tells the hosts to cancel what is still running when the manager cancels the call', TEST, async () => {
    const [n1, n2] = await announce(2, 0)
    n1!.silent = true
    n2!.silent = true
    const run = new Run(client, request({}))
    await waitFor('both asked', () => (n1!.received('downloadTask').length + n2!.received('downloadTask').length === 4 ? true : undefined))
    // n1 finishes its first download before the cancel: only the other three are cancelled.
    n1!.succeed(n1!.received('downloadTask')[0]!)
    await waitFor('n1 first outcome', () => (run.outcomes.length === 1 ? true : undefined))
    run.call.cancel()
    assert.equal((await run.ended)?.code, status.CANCELLED)
    await waitFor('cancels', () => (n1!.received('cancelDownloadTask').length + n2!.received('cancelDownloadTask').length === 3 ? true : undefined))
    assert.deepEqual(n1!.received('cancelDownloadTask').map((c) => c.requestId), [n1!.received('downloadTask')[1]!.requestId])
    assert.deepEqual(n2!.received('cancelDownloadTask').map((c) => c.requestId), n2!.received('downloadTask').map((t) => t.requestId))
    assert.match(n2!.received('cancelDownloadTask')[0]!.reason, /cancelled job job-7/)
    assert.equal(await counter('{command="download_task",outcome="cancelled"}'), 3)
  })

  it('takes a download\'s outcome only from the host it was sent to', TEST, async () => {
    const [n1, n2] = await announce(2, 0)
    n1!.silent = true
    const run = new Run(client, request({}, { downloads: [download({ url: URL_1 })] }))
    // n1 is the download's first host; n2 gets it once n1 registered a peer, or after a few silent seconds.
    await waitFor('n2 done', () => (run.outcomes.length === 1 ? true : undefined), 10_000)
    const [task] = n1!.received('downloadTask')
    assert.ok(task !== undefined)
    n2!.send({ $case: 'downloadTaskOutcome', value: { requestId: task.requestId, taskId: TASK_IDS[0]!, success: false, code: 'FORGED', reason: 'not mine', contentLength: 0, totalPieces: 0, costMs: 0 } })
    n2!.send({ $case: 'taskStat', value: { requestId: 'no-such-request', taskId: TASK_IDS[0]!, state: TaskState.TASK_STATE_ABSENT, contentLength: 0, finishedPieces: 0, totalPieces: 0, createdAtMs: 0, updatedAtMs: 0 } })
    // A stream's messages are handled in order: once this announce shows, the reports before it were handled.
    n2!.announce({ concurrentUploadCount: 3 })
    await waitFor('n2 re-announced', () => (scheduler.store.hosts.get('n2' as HostId)?.load.concurrentUploadCount === 3 ? true : undefined))
    assert.deepEqual(run.summary(), ['n2/0: ok'], 'the forged outcome settled nothing')
    n1!.succeed(task)
    assert.equal(await run.ended, null)
    assert.deepEqual(run.summary(), ['n1/0: ok', 'n2/0: ok'])
    assert.ok(!run.outcomes.some((o) => o.outcome?.code === 'FORGED'))
    assert.equal(n2!.error, undefined)
  })

  it('answers StatTask with the hosts that hold the task, and those that did not answer in time', TEST, async () => {
    const [n1, n2, n3, s1] = await announce(3, 1)
    n1!.statState = TaskState.TASK_STATE_SUCCEEDED
    n2!.statState = TaskState.TASK_STATE_ABSENT
    n3!.silent = true
    s1!.statState = TaskState.TASK_STATE_PARTIAL
    const taskId = TASK_IDS[0]!
    const response = await new Promise<unknown>((resolve, reject) => {
      client.statTask({ taskId, timeoutMs: 300 }, (error, answer) => (error === null ? resolve(answer) : reject(error)))
    })
    assert.deepEqual(response, {
      hosts: [
        { host: { hostId: 'n1', ip: '10.0.0.1', hostname: 'n1.test', seed: false }, stat: { requestId: n1!.received('statTask')[0]!.requestId, taskId, state: TaskState.TASK_STATE_SUCCEEDED, contentLength: 8, finishedPieces: 2, totalPieces: 2, createdAtMs: 1, updatedAtMs: 2 } },
        { host: { hostId: 's1', ip: '10.0.1.1', hostname: 's1.test', seed: true }, stat: { requestId: s1!.received('statTask')[0]!.requestId, taskId, state: TaskState.TASK_STATE_PARTIAL, contentLength: 8, finishedPieces: 2, totalPieces: 2, createdAtMs: 1, updatedAtMs: 2 } },
      ],
      unanswered: [{ hostId: 'n3', ip: '10.0.0.3', hostname: 'n3.test', seed: false }],
    })
    assert.equal(await counter('{command="stat_task",outcome="timeout"}'), 1)
    // A late answer is for no pending command any more: ignored, the stream stays open.
    const [late] = n3!.received('statTask')
    n3!.send({ $case: 'taskStat', value: { requestId: late!.requestId, taskId, state: TaskState.TASK_STATE_SUCCEEDED, contentLength: 0, finishedPieces: 0, totalPieces: 0, createdAtMs: 0, updatedAtMs: 0 } })
    const quick = await new Promise<unknown>((resolve, reject) => {
      n3!.silent = false
      client.statTask({ taskId, timeoutMs: 60_000 }, (error, answer) => (error === null ? resolve(answer) : reject(error)))
    })
    assert.equal((quick as { unanswered: unknown[] }).unanswered.length, 0, 'answered as soon as every host answered, not at the timeout')
    assert.equal(n3!.error, undefined)
  })

  it('deletes a task on the hosts, lists those that held it, and forgets their peers of it', TEST, async () => {
    const [n1, n2, n3] = await announce(3, 0)
    n2!.deleted = false
    n3!.silent = true
    const taskId = TASK_IDS[0]!
    const register = (hostId: string, peerId: string, url: string): void => {
      const peer = client.announcePeer()
      peer.on('data', () => undefined)
      peer.on('error', () => undefined)
      peerStreams.push(peer)
      peer.write({ hostId, taskId: taskIdFor({ url, filteredQueryParams: [] }), peerId, request: { $case: 'register', value: { download: download({ url }), pieces: [], contentLength: 0, contentLengthKnown: false, protocolRevision: SCHEDULER_PROTOCOL_REVISION } } })
    }
    register('n1', 'n1-layer-1', URLS[0]!)
    register('n1', 'n1-layer-2', URLS[1]!)
    register('n3', 'n3-layer-1', URLS[0]!)
    await waitFor('peers', () => (scheduler.store.peers.size === 3 ? true : undefined))
    const response = await new Promise<unknown>((resolve, reject) => {
      client.deleteTask({ taskId, timeoutMs: 300 }, (error, answer) => (error === null ? resolve(answer) : reject(error)))
    })
    assert.deepEqual(response, {
      hosts: [{ host: { hostId: 'n1', ip: '10.0.0.1', hostname: 'n1.test', seed: false }, result: { requestId: n1!.received('deleteTask')[0]!.requestId, taskId, deleted: true, error: '' } }],
      unanswered: [{ hostId: 'n3', ip: '10.0.0.3', hostname: 'n3.test', seed: false }],
    })
    assert.equal(n2!.received('deleteTask').length, 1)
    assert.deepEqual([...scheduler.store.peers.keys()].sort(), ['n1-layer-2', 'n3-layer-1'], 'n1\'s peer of the task is forgotten; n3 did not answer, so its peer stays')
    assert.equal(scheduler.store.tasks.get(taskId)?.peers.has('n1-layer-1' as never), false)
  })

  it('ends a running call with SHUTTING_DOWN when the scheduler stops, without waiting for the hosts', TEST, async () => {
    const [n1] = await announce(1, 0)
    n1!.silent = true
    const run = new Run(client, request({}))
    await waitFor('n1 asked', () => (n1!.received('downloadTask').length === 2 ? true : undefined))
    await scheduler.stop()
    const error = await run.ended
    assert.equal(error?.code, status.UNAVAILABLE)
    assert.match(error.details, /the scheduler is stopping/)
  })

  it('refuses a malformed request with INVALID_ARGUMENT naming the field', TEST, async () => {
    await announce(1, 0)
    const run = new Run(client, request({ count: 1, percentage: 10 }))
    const error = await run.ended
    assert.equal(error?.code, status.INVALID_ARGUMENT)
    assert.match(error.details, /selection\.count and selection\.percentage are both set/)
    const stat = await new Promise<ServiceError | null>((resolve) => client.statTask({ taskId: 'nope', timeoutMs: 0 }, (e) => resolve(e)))
    assert.equal(stat?.code, status.INVALID_ARGUMENT)
    assert.match(stat.details, /stat task: task_id must be 64 lowercase hex/)
    const del = await new Promise<ServiceError | null>((resolve) => client.deleteTask({ taskId: TASK_IDS[0]!, timeoutMs: 60_001 }, (e) => resolve(e)))
    assert.equal(del?.code, status.INVALID_ARGUMENT)
    assert.match(del.details, /delete task: timeout_ms must be at most 60000/)
  })
})
