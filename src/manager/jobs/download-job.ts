import type { ClientReadableStream } from '@grpc/grpc-js'
import type { Logger } from '../../common/logger.js'
import { DamselflyError, toDamselflyError } from '../../protocol/damselfly-error.js'
import { DEFAULT_FILTERED_QUERY_PARAMS } from '../../protocol/task-id.js'
import {
  HostSelection_Scope,
  type Download,
  type HostDownloadOutcome,
  type HostDownloadProgress,
  type RunDownloadsEvent,
  type RunDownloadsRequest,
  type SelectedHost,
} from '../../protocol/generated/damselfly/scheduler/v1/scheduler.js'
import type { Job, JobHostWrite, JobsRepository } from '../db/jobs-repository.js'
import { downloadSpecOf, type DownloadJobSpec, type JobCredentials, type Scope } from './job-args.js'
import type { ClusterSchedulers } from './cluster-schedulers.js'

/** What an image resolves to: the blobs to fetch (config first, then layers) and how to authorize at the registry. */
export interface ResolvedImage {
  readonly authorization: string | undefined
  readonly blobs: ReadonlyArray<{ readonly digest: string; readonly url: string }>
}

/** Resolves an image's manifest URL like a runtime: token auth, media types, platform. */
export type ImageResolver = (input: {
  manifestUrl: string
  headers: Readonly<Record<string, string>>
  username: string
  password: string
  platform: string | undefined
  signal: AbortSignal
}) => Promise<ResolvedImage>

/** How often progress is written to the database, however often hosts report it. */
export const PROGRESS_FLUSH_MS = 1_000

/** How often a host reports its progress to its scheduler. */
const HOST_PROGRESS_INTERVAL_MS = 1_000

const SCOPE_OF: Record<Scope, HostSelection_Scope> = {
  single_seed_peer: HostSelection_Scope.SCOPE_SINGLE_SEED_PEER,
  all_seed_peers: HostSelection_Scope.SCOPE_ALL_SEED_PEERS,
  all_peers: HostSelection_Scope.SCOPE_ALL_PEERS,
}

/** The downloads a job runs: one per file URL, or one per blob of an image. */
export async function downloadsOf(
  spec: DownloadJobSpec,
  credentials: JobCredentials,
  resolveImage: ImageResolver,
  signal: AbortSignal,
): Promise<Download[]> {
  const common = {
    tag: spec.tag,
    application: spec.application,
    // The daemons add their own list; sending Dragonfly's defaults keeps a task id the same whatever theirs.
    filteredQueryParams: [...new Set([...DEFAULT_FILTERED_QUERY_PARAMS, ...spec.filteredQueryParams])],
    pieceLength: spec.pieceLengthBytes ?? 0,
    priority: 0,
    disableBackToSource: false,
  }
  if (spec.kind === 'file') {
    return spec.urls.map((url) => ({ ...common, url, headers: { ...credentials.headers }, digest: '' }))
  }
  const [manifestUrl] = spec.urls
  if (manifestUrl === undefined) throw new DamselflyError('INVALID_ARGUMENT', 'an image job names no manifest URL')
  const image = await resolveImage({ manifestUrl, headers: credentials.headers, username: credentials.username, password: credentials.password, platform: spec.platform, signal })
  const headers = Object.fromEntries(Object.entries(credentials.headers).filter(([name]) => name.toLowerCase() !== 'authorization'))
  if (image.authorization !== undefined) headers['authorization'] = image.authorization
  return image.blobs.map((blob) => ({ ...common, url: blob.url, headers, digest: blob.digest }))
}

/** The pending writes of one run: the latest state of each row, written at most once a flush. */
class HostRows {
  private readonly pending = new Map<string, JobHostWrite>()
  private readonly known = new Map<string, JobHostWrite>()
  private flushing: Promise<void> = Promise.resolve()

  /** `earlier`: the rows an earlier run of the job left, which this one updates. */
  constructor(private readonly components: { jobs: JobsRepository; jobId: number }, earlier: readonly JobHostWrite[]) {
    for (const row of earlier) this.known.set(this.keyOf(row), row)
  }

  private keyOf(row: Pick<JobHostWrite, 'hostKey' | 'urlIndex'>): string {
    return `${row.hostKey}\n${row.urlIndex}`
  }

  get(hostKey: string, urlIndex: number): JobHostWrite | undefined {
    return this.known.get(this.keyOf({ hostKey, urlIndex }))
  }

  set(row: JobHostWrite): void {
    const key = this.keyOf(row)
    this.known.set(key, row)
    this.pending.set(key, row)
  }

  /** Writes what changed since the last flush; flushes run one after another, so an older state never lands last. */
  flush(): Promise<void> {
    const write = async (): Promise<void> => {
      if (this.pending.size === 0) return
      const rows = [...this.pending]
      this.pending.clear()
      try {
        await this.components.jobs.writeHosts(this.components.jobId, rows.map(([, row]) => row))
      } catch (error) {
        // Not written: the next flush tries again, unless a newer state of the row came meanwhile.
        for (const [key, row] of rows) if (!this.pending.has(key)) this.pending.set(key, row)
        throw error
      }
    }
    const flushed = this.flushing.then(write)
    this.flushing = flushed.catch(() => undefined)
    return flushed
  }
}

function hostKeyOf(host: SelectedHost | undefined): string {
  return host === undefined ? '' : host.hostId !== '' ? host.hostId : host.ip
}

/**
 * Runs a preheat or distribution job: resolves what to fetch, asks one live scheduler of each
 * cluster to run the downloads on the hosts the job names, and records each host's progress and
 * outcome as they come. A run after the first (a rerun, or a take-over from a manager that died)
 * runs again only on the hosts whose downloads did not all succeed.
 */
export class DownloadJob {
  constructor(
    private readonly components: {
      jobs: JobsRepository
      schedulers: ClusterSchedulers
      resolveImage: ImageResolver
      logger: Logger
    },
  ) {}

  /** Resolves with the job's final state and, for a failure as a whole, why. */
  async run(job: Job, credentials: JobCredentials, signal: AbortSignal): Promise<{ state: 'SUCCESS' | 'FAILURE'; error?: string }> {
    if (job.type !== 'preheat' && job.type !== 'distribution') throw new DamselflyError('INTERNAL', `job ${job.id} is a ${job.type}, not a download job`)
    const spec = downloadSpecOf(job.type, job.args)
    const downloads = await downloadsOf(spec, credentials, this.components.resolveImage, signal)
    const earlier = job.runCount > 1 ? (await this.components.jobs.listHosts(job.id)).items : []
    const errors: string[] = []
    await Promise.all(job.clusterIds.map(async (clusterId) => {
      const rows = earlier.filter((row) => row.clusterId === clusterId)
      // Only the hosts still owed something, by id (several may share an address); none owed in a cluster that already delivered.
      const owed = [...new Set(rows.filter((row) => row.state !== 'SUCCESS').map((row) => row.hostKey))]
      if (rows.length > 0 && owed.length === 0) return
      try {
        await this.runInCluster(job, clusterId, spec, downloads, { earlier: rows, onlyHosts: rows.length > 0 ? owed : undefined }, signal)
      } catch (error) {
        if (signal.aborted) throw signal.reason
        errors.push(`cluster ${clusterId}: ${toDamselflyError(error).message}`)
      }
    }))
    if (signal.aborted) throw signal.reason
    const { items } = await this.components.jobs.listHosts(job.id)
    const failed = items.filter((row) => row.state !== 'SUCCESS')
    if (failed.length > 0) errors.push(`${failed.length} of ${items.length} host downloads failed`)
    if (items.length === 0 && errors.length === 0) errors.push('no host was selected')
    return errors.length === 0 ? { state: 'SUCCESS' } : { state: 'FAILURE', error: errors.join('; ') }
  }

  private async runInCluster(
    job: Job,
    clusterId: number,
    spec: DownloadJobSpec,
    downloads: readonly Download[],
    previous: { earlier: readonly JobHostWrite[]; onlyHosts: readonly string[] | undefined },
    signal: AbortSignal,
  ): Promise<void> {
    const { onlyHosts } = previous
    const request: RunDownloadsRequest = {
      jobId: String(job.id),
      downloads: [...downloads],
      selection: onlyHosts === undefined
        ? { scope: SCOPE_OF[spec.scope], hosts: [...spec.hosts], count: spec.count ?? 0, percentage: spec.percentage ?? 0 }
        : { scope: HostSelection_Scope.SCOPE_ALL_PEERS, hosts: [...onlyHosts], count: 0, percentage: 0 },
      rateLimitBytesPerSecond: spec.rateLimitBytesPerSecond,
      outputPath: spec.outputPath,
      progressIntervalMs: HOST_PROGRESS_INTERVAL_MS,
    }
    const rows = new HostRows({ jobs: this.components.jobs, jobId: job.id }, previous.earlier)
    const logger = this.components.logger.child({ jobId: job.id, clusterId })
    await this.components.schedulers.withScheduler(clusterId, async (scheduler) => {
      logger.info({ scheduler: scheduler.address, downloads: downloads.length }, 'job downloads sent to scheduler')
      const call = scheduler.client.runDownloads(request)
      const timer = setInterval(() => {
        rows.flush().catch((error: unknown) => logger.warn({ err: error }, 'job progress not written; the next flush tries again'))
      }, PROGRESS_FLUSH_MS)
      timer.unref()
      try {
        await this.follow(call, { clusterId, downloads, rows, scope: request.selection?.scope ?? HostSelection_Scope.SCOPE_ALL_PEERS }, signal)
      } finally {
        clearInterval(timer)
        await rows.flush()
      }
    })
  }

  /** Records the call's events until it ends; cancelling `signal` cancels the call (the scheduler aborts the downloads). */
  private follow(
    call: ClientReadableStream<RunDownloadsEvent>,
    context: { clusterId: number; downloads: readonly Download[]; rows: HostRows; scope: HostSelection_Scope },
    signal: AbortSignal,
  ): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const cancel = (): void => call.cancel()
      signal.addEventListener('abort', cancel, { once: true })
      const taskIds: string[] = []
      call.on('data', (event: RunDownloadsEvent) => {
        switch (event.event?.$case) {
          case 'started':
            taskIds.splice(0, taskIds.length, ...event.event.value.taskIds)
            // A single seed peer runs each download on a host of its own: its rows come with their reports.
            if (context.scope === HostSelection_Scope.SCOPE_SINGLE_SEED_PEER) break
            for (const host of event.event.value.hosts) {
              context.downloads.forEach((download, index) => {
                if (context.rows.get(hostKeyOf(host), index)?.state === 'SUCCESS') return
                context.rows.set(this.row(context.clusterId, host, download.url, index, taskIds[index] ?? '', { state: 'PENDING' }))
              })
            }
            break
          case 'progress':
            this.recordProgress(context, event.event.value, taskIds)
            break
          case 'outcome':
            this.recordOutcome(context, event.event.value, taskIds)
            break
          default:
            break
        }
      })
      call.on('error', (error) => {
        signal.removeEventListener('abort', cancel)
        reject(signal.aborted ? signal.reason as Error : error)
      })
      call.on('end', () => {
        signal.removeEventListener('abort', cancel)
        resolve()
      })
    })
  }

  private recordProgress(context: { clusterId: number; downloads: readonly Download[]; rows: HostRows }, event: HostDownloadProgress, taskIds: readonly string[]): void {
    const progress = event.progress
    if (event.host === undefined || progress === undefined) return
    const index = taskIds.indexOf(progress.taskId)
    const download = context.downloads[index]
    if (download === undefined) return
    const current = context.rows.get(hostKeyOf(event.host), index)
    if (current?.state === 'SUCCESS' || current?.state === 'FAILURE') return
    context.rows.set(this.row(context.clusterId, event.host, download.url, index, progress.taskId, {
      state: 'RUNNING',
      completedBytes: progress.completedBytes,
      contentLength: progress.contentLength,
      finishedPieces: progress.finishedPieces,
      totalPieces: progress.totalPieces,
      bytesPerSecond: progress.bytesPerSecond,
    }))
  }

  private recordOutcome(context: { clusterId: number; downloads: readonly Download[]; rows: HostRows }, event: HostDownloadOutcome, taskIds: readonly string[]): void {
    const outcome = event.outcome
    const download = context.downloads[event.downloadIndex]
    if (outcome === undefined || download === undefined) return
    const named = event.host ?? { hostId: '', ip: '', hostname: '', seed: false }
    const current = context.rows.get(hostKeyOf(named), event.downloadIndex)
    // A rerun names hosts by id: one not connected now keeps the name and address it had.
    const host = named.hostId === '' && current !== undefined ? { ...named, hostname: current.hostname, ip: current.ip } : named
    context.rows.set(this.row(context.clusterId, host, download.url, event.downloadIndex, outcome.taskId || taskIds[event.downloadIndex] || '', {
      state: outcome.success ? 'SUCCESS' : 'FAILURE',
      completedBytes: outcome.success ? outcome.contentLength : current?.completedBytes ?? 0,
      contentLength: outcome.contentLength || (current?.contentLength ?? 0),
      finishedPieces: outcome.success ? outcome.totalPieces : current?.finishedPieces ?? 0,
      totalPieces: outcome.totalPieces || (current?.totalPieces ?? 0),
      bytesPerSecond: 0,
      code: outcome.success ? '' : outcome.code,
      description: outcome.success ? '' : outcome.reason,
      costMs: outcome.costMs,
    }))
  }

  private row(clusterId: number, host: SelectedHost, url: string, urlIndex: number, taskId: string, values: Partial<JobHostWrite>): JobHostWrite {
    return {
      clusterId,
      hostKey: hostKeyOf(host),
      hostname: host.hostname,
      ip: host.ip,
      seed: host.seed,
      url,
      urlIndex,
      taskId,
      state: 'PENDING',
      completedBytes: 0,
      contentLength: 0,
      finishedPieces: 0,
      totalPieces: 0,
      bytesPerSecond: 0,
      code: '',
      description: '',
      costMs: 0,
      ...values,
    }
  }
}
