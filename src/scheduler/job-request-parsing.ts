import { DamselflyError } from '../protocol/damselfly-error.js'
import { isTaskId, type TaskId } from '../protocol/ids.js'
import { taskIdFor, type TaskIdInput } from '../protocol/task-id.js'
import {
  HostSelection_Scope,
  type DeleteTaskRequest,
  type Download,
  type RunDownloadsRequest,
  type StatTaskRequest,
} from '../protocol/generated/damselfly/scheduler/v1/scheduler.js'
import type { HostSelectionRule, SelectionScope } from './host-selection.js'
import { parseDownload } from './request-parsing.js'

// The manager's calls are checked here, once, like the daemons' (request-parsing.ts).

/** Downloads one RunDownloads call may carry: a preheat of an image is a few dozen layers. */
export const MAX_JOB_DOWNLOADS = 1_000
/** Names one host filter may list. */
export const MAX_SELECTED_HOST_NAMES = 1_000
/** A hostname is at most 253 characters; an IPv6 address is shorter. */
const MAX_HOST_NAME_LENGTH = 253
const MAX_OUTPUT_PATH_LENGTH = 4_096
const MAX_JOB_ID_LENGTH = 512
export const DEFAULT_TASK_QUERY_TIMEOUT_MS = 5_000
export const MAX_TASK_QUERY_TIMEOUT_MS = 60_000

const SCOPES: ReadonlyMap<HostSelection_Scope, SelectionScope> = new Map([
  [HostSelection_Scope.SCOPE_SINGLE_SEED_PEER, 'single-seed-peer'],
  [HostSelection_Scope.SCOPE_ALL_SEED_PEERS, 'all-seed-peers'],
  [HostSelection_Scope.SCOPE_ALL_PEERS, 'all-peers'],
])

/** One download of a job, checked, with its task id. */
export interface JobDownload {
  readonly download: Download
  readonly taskId: TaskId
}

/** A RunDownloads request once checked. */
export interface DownloadJob {
  /** The manager's job id, for logs; may be empty. */
  readonly jobId: string
  readonly downloads: readonly JobDownload[]
  readonly selection: HostSelectionRule
  /** Each download's own cap; 0 for none. */
  readonly rateLimitBytesPerSecond: number
  /** Relative to each daemon's output directory; empty to keep the content in the cache only. The daemon checks where it leads. */
  readonly outputPath: string
  /** 0 for outcomes only. */
  readonly progressIntervalMs: number
}

/** A StatTask or DeleteTask request once checked. */
export interface TaskQuery {
  readonly taskId: TaskId
  readonly timeoutMs: number
}

function invalid(message: string): DamselflyError {
  return new DamselflyError('INVALID_ARGUMENT', message)
}

function nonNegative(value: number, what: string): number {
  if (!Number.isSafeInteger(value) || value < 0) throw invalid(`${what} must be a non-negative integer, got ${value}`)
  return value
}

function selectionOf(request: RunDownloadsRequest): HostSelectionRule {
  const selection = request.selection
  if (selection === undefined) throw invalid('run downloads: selection is missing')
  const scope = SCOPES.get(selection.scope)
  if (scope === undefined) throw invalid(`run downloads: selection.scope must be SINGLE_SEED_PEER, ALL_SEED_PEERS or ALL_PEERS, got ${selection.scope}`)
  const count = nonNegative(selection.count, 'run downloads: selection.count')
  const percentage = nonNegative(selection.percentage, 'run downloads: selection.percentage')
  if (percentage > 100) throw invalid(`run downloads: selection.percentage must be 0..100, got ${percentage}`)
  if (count > 0 && percentage > 0) throw invalid('run downloads: selection.count and selection.percentage are both set; set at most one')
  if (selection.hosts.length > MAX_SELECTED_HOST_NAMES) throw invalid(`run downloads: selection.hosts lists at most ${MAX_SELECTED_HOST_NAMES} names, got ${selection.hosts.length}`)
  selection.hosts.forEach((name, index) => {
    if (name === '' || name.length > MAX_HOST_NAME_LENGTH) throw invalid(`run downloads: selection.hosts[${index}] must be 1 to ${MAX_HOST_NAME_LENGTH} characters`)
  })
  return { scope, hosts: selection.hosts, count, percentage }
}

/**
 * Checks a RunDownloads request: 1 to {@link MAX_JOB_DOWNLOADS} downloads, each by the rules of a
 * peer's registration (parseDownload), and a selection with a scope, at most one of count and
 * percentage, a percentage of 0..100 and a bounded host list. Throws INVALID_ARGUMENT naming the
 * field. `taskIdOf` is {@link taskIdFor} or a memo of it.
 */
export function parseRunDownloads(request: RunDownloadsRequest, taskIdOf: (input: TaskIdInput) => TaskId = taskIdFor): DownloadJob {
  if (request.jobId.length > MAX_JOB_ID_LENGTH) throw invalid(`run downloads: job_id must be at most ${MAX_JOB_ID_LENGTH} characters`)
  const { downloads } = request
  if (downloads.length === 0 || downloads.length > MAX_JOB_DOWNLOADS) {
    throw invalid(`run downloads: downloads must hold 1 to ${MAX_JOB_DOWNLOADS} downloads, got ${downloads.length}`)
  }
  const selection = selectionOf(request)
  if (request.outputPath.length > MAX_OUTPUT_PATH_LENGTH) throw invalid(`run downloads: output_path must be at most ${MAX_OUTPUT_PATH_LENGTH} characters`)
  if (request.outputPath.includes('\0')) throw invalid('run downloads: output_path must not hold a NUL character')
  return {
    jobId: request.jobId,
    downloads: downloads.map((download, index) => parseDownload(download, `run downloads: downloads[${index}]`, taskIdOf)),
    selection,
    rateLimitBytesPerSecond: nonNegative(request.rateLimitBytesPerSecond, 'run downloads: rate_limit_bytes_per_second'),
    outputPath: request.outputPath,
    progressIntervalMs: nonNegative(request.progressIntervalMs, 'run downloads: progress_interval_ms'),
  }
}

/**
 * Checks a StatTask or DeleteTask request (`what` names the call): a task id of 64 lowercase hex
 * characters, and a timeout of at most {@link MAX_TASK_QUERY_TIMEOUT_MS}, 0 meaning
 * {@link DEFAULT_TASK_QUERY_TIMEOUT_MS}.
 */
export function parseTaskQuery(request: StatTaskRequest | DeleteTaskRequest, what: string): TaskQuery {
  if (!isTaskId(request.taskId)) throw invalid(`${what}: task_id must be 64 lowercase hex characters, got ${JSON.stringify(request.taskId.slice(0, 80))}`)
  const timeoutMs = nonNegative(request.timeoutMs, `${what}: timeout_ms`)
  if (timeoutMs > MAX_TASK_QUERY_TIMEOUT_MS) throw invalid(`${what}: timeout_ms must be at most ${MAX_TASK_QUERY_TIMEOUT_MS}, got ${timeoutMs}`)
  return { taskId: request.taskId, timeoutMs: timeoutMs === 0 ? DEFAULT_TASK_QUERY_TIMEOUT_MS : timeoutMs }
}
