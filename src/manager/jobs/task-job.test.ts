import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { taskIdFor } from '../../protocol/task-id.js'
import {
  TaskState,
  type DeleteTaskRequest,
  type DeleteTaskResponse,
  type SchedulerServiceClient,
  type SelectedHost,
  type StatTaskRequest,
  type StatTaskResponse,
} from '../../protocol/generated/damselfly/scheduler/v1/scheduler.js'
import type { JobType } from '../db/job-type.js'
import type { Job } from '../db/jobs-repository.js'
import type { ClusterScheduler } from './cluster-schedulers.js'
import type { ImageResolver } from './download-job.js'
import { parseJobArgs, type JobCredentials } from './job-args.js'
import { NO_CREDENTIALS } from './job-secrets.js'
import { TaskJob } from './task-job.js'

const TEST = { timeout: 10_000 }
const REGISTRY = 'https://reg.test'
const MANIFEST_URL = `${REGISTRY}/v2/library/app/manifests/1.0`
const DIGESTS = ['a', 'b', 'c'].map((letter) => `sha256:${letter.repeat(64)}`)
const blobUrl = (digest: string): string => `${REGISTRY}/v2/library/app/blobs/${digest}`
const BLOB_TASK_IDS = DIGESTS.map((digest) => taskIdFor({ url: blobUrl(digest) }))

const HOSTS: Record<string, SelectedHost> = {
  seed: { hostId: 'h-seed', ip: '10.0.0.1', hostname: 'seed-0', seed: true },
  peer: { hostId: 'h-peer', ip: '10.0.0.2', hostname: 'peer-0', seed: false },
}

/** Which hosts hold which task, and which refuse to delete it. */
interface Holdings {
  readonly holders: Record<string, readonly SelectedHost[]>
  readonly refusesDelete?: readonly string[]
}

/** A scheduler client that answers statTask and deleteTask from `holdings`, recording the task ids asked. */
function fakeSchedulers(holdings: Holdings, asked: string[], load = { now: 0, most: 0 }): { withScheduler: <T>(clusterId: number, call: (scheduler: ClusterScheduler) => Promise<T>) => Promise<T> } {
  const client = {
    statTask(request: StatTaskRequest, _metadata: unknown, _options: unknown, callback: (error: null, response: StatTaskResponse) => void) {
      asked.push(request.taskId)
      load.now++
      load.most = Math.max(load.most, load.now)
      const hosts = (holdings.holders[request.taskId] ?? []).map((host) => ({
        host,
        stat: { requestId: '1', taskId: request.taskId, state: TaskState.TASK_STATE_SUCCEEDED, contentLength: 8, finishedPieces: 1, totalPieces: 1, createdAtMs: 0, updatedAtMs: 0 },
      }))
      setTimeout(() => {
        load.now--
        callback(null, { hosts, unanswered: [] })
      }, 2)
      return { cancel: () => undefined }
    },
    deleteTask(request: DeleteTaskRequest, _metadata: unknown, _options: unknown, callback: (error: null, response: DeleteTaskResponse) => void) {
      asked.push(request.taskId)
      const hosts = (holdings.holders[request.taskId] ?? []).map((host) => {
        const refused = holdings.refusesDelete?.includes(host.hostname) === true
        return { host, result: { requestId: '1', taskId: request.taskId, deleted: !refused, error: refused ? 'the task is in use' : '' } }
      })
      setImmediate(() => callback(null, { hosts, unanswered: [] }))
      return { cancel: () => undefined }
    },
  } as unknown as SchedulerServiceClient
  return { withScheduler: (_clusterId, call) => call({ address: 'scheduler.test:8002', client }) }
}

/** A resolver that answers the three blobs and records what it was asked with. */
function fakeResolver(calls: Array<Parameters<ImageResolver>[0]>): ImageResolver {
  return (input) => {
    calls.push(input)
    return Promise.resolve({ authorization: 'Bearer t', blobs: [...DIGESTS, DIGESTS[1]!].map((digest) => ({ digest, url: blobUrl(digest) })) })
  }
}

function jobOf(type: JobType, args: Record<string, unknown>): Job {
  return {
    id: 1, type, state: 'PENDING', phase: 'running', groupId: 'g', bio: '', args, sealedSecrets: undefined, clusterIds: [1],
    result: null, error: undefined, userId: 1, userName: 'root', copiedFrom: undefined, runCount: 1, stopRequestedBy: undefined,
    scheduledAtMs: undefined, startedAtMs: 0, finishedAtMs: undefined, createdAtMs: 0, updatedAtMs: 0,
  }
}

interface TaskEntry {
  task_id: string
  url?: string
  digest?: string
  results: Array<{ scheduler_cluster_id: number; peers?: Array<{ hostname: string }>; success_tasks?: Array<{ hostname: string }>; failure_tasks?: Array<{ hostname: string; description: string }> }>
}

describe('get_task and delete_task arguments', TEST, () => {
  it('takes an image by manifest URL, keeping the account sealed apart from the stored arguments', TEST, () => {
    const parsed = parseJobArgs('get_task', { type: 'image', url: MANIFEST_URL, platform: 'linux/arm64', username: 'robot', password: 's3cret', tag: '' })
    assert.deepEqual(parsed.args, { type: 'image', url: MANIFEST_URL, platform: 'linux/arm64' })
    assert.deepEqual(parsed.credentials, { headers: {}, username: 'robot', password: 's3cret' })
  })

  it('keeps the task id and URL forms as they were', TEST, () => {
    assert.deepEqual(parseJobArgs('delete_task', { task_id: BLOB_TASK_IDS[0], type: '' }).args, { task_id: BLOB_TASK_IDS[0] })
    assert.deepEqual(parseJobArgs('get_task', { url: 'https://files.test/a', tag: 't' }).args, { url: 'https://files.test/a', tag: 't' })
  })

  for (const [name, args, field] of [
    ['neither id nor URL', {}, 'give task_id or url'],
    ['an image by task id', { type: 'image', task_id: BLOB_TASK_IDS[0] }, 'manifest URL'],
    ['a platform without an image', { url: 'https://files.test/a', platform: 'linux/amd64' }, 'for an image'],
    ['a bad platform', { type: 'image', url: MANIFEST_URL, platform: 'amd64' }, 'os/arch'],
  ] as const) {
    it(`refuses ${name}`, TEST, () => {
      assert.throws(() => parseJobArgs('get_task', args), (error: Error) => error.message.includes(field))
    })
  }
})

describe('TaskJob', TEST, () => {
  it('finds the holders of every blob of an image, each its own task with the id a preheat gives it', TEST, async () => {
    const asked: string[] = []
    const resolves: Array<Parameters<ImageResolver>[0]> = []
    const job = new TaskJob({ schedulers: fakeSchedulers({ holders: { [BLOB_TASK_IDS[0]!]: [HOSTS['seed']!], [BLOB_TASK_IDS[2]!]: [HOSTS['seed']!, HOSTS['peer']!] } }, asked), resolveImage: fakeResolver(resolves) })
    const credentials: JobCredentials = { headers: {}, username: 'robot', password: 's3cret' }
    const outcome = await job.run(jobOf('get_task', { type: 'image', url: MANIFEST_URL, platform: 'linux/arm64' }), credentials, AbortSignal.timeout(5_000))

    assert.equal(outcome.state, 'SUCCESS')
    assert.equal(resolves.length, 1)
    assert.deepEqual([resolves[0]?.manifestUrl, resolves[0]?.platform, resolves[0]?.username, resolves[0]?.password], [MANIFEST_URL, 'linux/arm64', 'robot', 's3cret'])
    assert.deepEqual([...asked].sort(), [...BLOB_TASK_IDS].sort(), 'each blob asked once, the repeated layer too')
    const tasks = outcome.result['tasks'] as TaskEntry[]
    assert.deepEqual(tasks.map((task) => [task.task_id, task.digest, task.url]), DIGESTS.map((digest, index) => [BLOB_TASK_IDS[index], digest, blobUrl(digest)]))
    assert.deepEqual(tasks.map((task) => task.results.flatMap((result) => result.peers ?? []).map((peer) => peer.hostname)), [['seed-0'], [], ['seed-0', 'peer-0']])
    assert.equal(outcome.result['task_id'], undefined, 'an image is several tasks')
    const flat = (outcome.result['job_states'] as Array<{ results: Array<{ task_id: string }> }>)[0]?.results ?? []
    assert.deepEqual(flat.map((result) => result.task_id), BLOB_TASK_IDS)
  })

  it('deletes every blob of an image and fails naming the hosts that refused', TEST, async () => {
    const asked: string[] = []
    const schedulers = fakeSchedulers({ holders: { [BLOB_TASK_IDS[1]!]: [HOSTS['seed']!, HOSTS['peer']!] }, refusesDelete: ['peer-0'] }, asked)
    const job = new TaskJob({ schedulers, resolveImage: fakeResolver([]) })
    const outcome = await job.run(jobOf('delete_task', { type: 'image', url: MANIFEST_URL }), NO_CREDENTIALS, AbortSignal.timeout(5_000))

    assert.equal(outcome.state, 'FAILURE')
    assert.match(outcome.error ?? '', /1 host deletions of the image's 3 tasks failed/)
    const second = (outcome.result['tasks'] as TaskEntry[])[1]
    assert.deepEqual(second?.results[0]?.success_tasks?.map((entry) => entry.hostname), ['seed-0'])
    assert.deepEqual(second?.results[0]?.failure_tasks?.map((entry) => [entry.hostname, entry.description]), [['peer-0', 'the task is in use']])
  })

  it('answers one task by id in Dragonfly\'s shape, with the same task in the task list', TEST, async () => {
    const asked: string[] = []
    const resolves: Array<Parameters<ImageResolver>[0]> = []
    const job = new TaskJob({ schedulers: fakeSchedulers({ holders: { [BLOB_TASK_IDS[0]!]: [HOSTS['peer']!] } }, asked), resolveImage: fakeResolver(resolves) })
    const outcome = await job.run(jobOf('get_task', { task_id: BLOB_TASK_IDS[0] }), NO_CREDENTIALS, AbortSignal.timeout(5_000))

    assert.equal(outcome.state, 'SUCCESS')
    assert.equal(resolves.length, 0, 'nothing to resolve')
    assert.equal(outcome.result['task_id'], BLOB_TASK_IDS[0])
    const tasks = outcome.result['tasks'] as TaskEntry[]
    assert.deepEqual(tasks.map((task) => [task.task_id, task.results[0]?.peers?.map((peer) => peer.hostname)]), [[BLOB_TASK_IDS[0], ['peer-0']]])
  })

  it('asks about an image of many layers a few at a time, every one answered in order', TEST, async () => {
    const digests = Array.from({ length: 20 }, (_unused, index) => `sha256:${index.toString(16).padStart(64, '0')}`)
    const asked: string[] = []
    const load = { now: 0, most: 0 }
    const job = new TaskJob({
      schedulers: fakeSchedulers({ holders: {} }, asked, load),
      resolveImage: () => Promise.resolve({ authorization: undefined, blobs: digests.map((digest) => ({ digest, url: blobUrl(digest) })) }),
    })
    const outcome = await job.run(jobOf('get_task', { type: 'image', url: MANIFEST_URL }), NO_CREDENTIALS, AbortSignal.timeout(5_000))
    assert.equal(asked.length, 20)
    assert.ok(load.most <= 8, `at most 8 at once, saw ${load.most}`)
    assert.deepEqual((outcome.result['tasks'] as TaskEntry[]).map((task) => task.digest), digests)
  })

  it('fails the job when the image does not resolve, asking no scheduler', TEST, async () => {
    const asked: string[] = []
    const job = new TaskJob({
      schedulers: fakeSchedulers({ holders: {} }, asked),
      resolveImage: () => Promise.reject(new Error('reg.test/library/app: the registry has no manifest 1.0 (404 Not Found)')),
    })
    await assert.rejects(job.run(jobOf('get_task', { type: 'image', url: MANIFEST_URL }), NO_CREDENTIALS, AbortSignal.timeout(5_000)), /no manifest/)
    assert.deepEqual(asked, [])
  })
})
