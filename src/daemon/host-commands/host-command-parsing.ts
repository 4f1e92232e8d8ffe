import { DamselflyError } from '../../protocol/damselfly-error.js'
import { isTaskId, type TaskId } from '../../protocol/ids.js'
import type { DownloadTask } from '../../protocol/generated/damselfly/scheduler/v1/scheduler.js'
import { parseSchedulerDownload, type DownloadRequest } from '../download/download-request.js'

/** Longest request id taken; the scheduler's are uuids. */
export const MAX_REQUEST_ID_LENGTH = 128
/** Progress is reported at most this often, whatever a command asks: more would only load the stream. */
export const MIN_PROGRESS_INTERVAL_MS = 100

const REQUEST_ID = /^[\x21-\x7e]+$/

/** A download_task command, checked: what the host runs. */
export interface DownloadTaskCommand {
  readonly requestId: string
  readonly request: DownloadRequest
  /** 0 for no cap of its own. */
  readonly rateLimitBytesPerSecond: number
  /**
   * Relative to `distribution.outputDir`; empty to keep the content in the store only. Checked
   * and resolved (output-path.ts) when the download starts, before anything is fetched.
   */
  readonly outputPath: string
  /** 0 for outcome only; otherwise at least {@link MIN_PROGRESS_INTERVAL_MS}. */
  readonly progressIntervalMs: number
}

/** A request id as every command carries it: 1..128 visible ASCII characters. Throws INVALID_ARGUMENT. */
export function parseRequestId(value: string): string {
  if (value.length === 0) throw new DamselflyError('INVALID_ARGUMENT', 'request_id is empty')
  if (value.length > MAX_REQUEST_ID_LENGTH) throw new DamselflyError('INVALID_ARGUMENT', `request_id is longer than ${MAX_REQUEST_ID_LENGTH} characters`)
  if (!REQUEST_ID.test(value)) throw new DamselflyError('INVALID_ARGUMENT', 'request_id must be visible ASCII without spaces')
  return value
}

/** A task id as a command names it: 64 lowercase hex digits. Throws INVALID_ARGUMENT. */
export function parseCommandTaskId(value: string): TaskId {
  if (!isTaskId(value)) throw new DamselflyError('INVALID_ARGUMENT', 'task_id must be 64 lowercase hex digits')
  return value
}

/** Checks a download_task command at the boundary; throws INVALID_ARGUMENT (or UNSUPPORTED_SCHEME) naming the field. */
export function parseDownloadTask(command: DownloadTask): DownloadTaskCommand {
  const requestId = parseRequestId(command.requestId)
  if (command.download === undefined) throw new DamselflyError('INVALID_ARGUMENT', 'download is missing')
  const request = parseSchedulerDownload(command.download)
  const rate = command.rateLimitBytesPerSecond
  if (!Number.isSafeInteger(rate) || rate < 0) throw new DamselflyError('INVALID_ARGUMENT', 'rate_limit_bytes_per_second must be a whole number of bytes per second')
  const interval = command.progressIntervalMs
  if (!Number.isSafeInteger(interval) || interval < 0) throw new DamselflyError('INVALID_ARGUMENT', 'progress_interval_ms must be a whole number of milliseconds')
  return {
    requestId,
    request,
    rateLimitBytesPerSecond: rate,
    outputPath: command.outputPath,
    progressIntervalMs: interval === 0 ? 0 : Math.max(interval, MIN_PROGRESS_INTERVAL_MS),
  }
}

/** A request id fit to echo in the answer to a command refused for its request id: the scheduler can still try to match it. */
export function echoedRequestId(value: string): string {
  return value.slice(0, MAX_REQUEST_ID_LENGTH)
}
