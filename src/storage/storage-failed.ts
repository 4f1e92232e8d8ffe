import { DamselflyError } from '../protocol/damselfly-error.js'
import type { TaskId } from '../protocol/ids.js'

/** A STORAGE_FAILED error that keeps the file system's error as `cause` and repeats its message. */
export function storageFailed(message: string, cause: unknown, taskId?: TaskId): DamselflyError {
  const reason = cause instanceof Error ? `: ${cause.message}` : ''
  return new DamselflyError('STORAGE_FAILED', `${message}${reason}`, { cause, details: taskId === undefined ? {} : { taskId } })
}
