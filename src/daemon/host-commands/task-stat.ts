import type { TaskId } from '../../protocol/ids.js'
import { pieceCount } from '../../protocol/piece.js'
import { TaskState, type TaskStat } from '../../protocol/generated/damselfly/scheduler/v1/scheduler.js'
import type { ContentStore, TaskDescriptor } from '../../storage/content-store.js'

/** Pieces the content is cut into; 0 while its length is unknown. */
export function totalPiecesOf(descriptor: TaskDescriptor): number {
  const length = descriptor.contentLengthBytes
  return length === undefined ? 0 : pieceCount(length, descriptor.pieceLengthBytes)
}

/**
 * What this host holds of a task, for a stat_task command: RUNNING while a download of it runs
 * (whoever started it), else SUCCEEDED when complete in the store, PARTIAL when some pieces are
 * stored, ABSENT otherwise (also for a task record without any piece). `updatedAtMs` is the
 * store's last access to the task. Reads memory only.
 */
export function taskStatOf(taskId: TaskId, requestId: string, components: { store: ContentStore; isRunning: (taskId: TaskId) => boolean }): TaskStat {
  const summary = components.store.list().find((task) => task.descriptor.taskId === taskId)
  const running = components.isRunning(taskId)
  const absent: TaskStat = { requestId, taskId, state: TaskState.TASK_STATE_ABSENT, contentLength: 0, finishedPieces: 0, totalPieces: 0, createdAtMs: 0, updatedAtMs: 0 }
  if (summary === undefined) return running ? { ...absent, state: TaskState.TASK_STATE_RUNNING } : absent
  const state = running
    ? TaskState.TASK_STATE_RUNNING
    : summary.complete
      ? TaskState.TASK_STATE_SUCCEEDED
      : summary.finishedPieceCount > 0
        ? TaskState.TASK_STATE_PARTIAL
        : TaskState.TASK_STATE_ABSENT
  return {
    requestId,
    taskId,
    state,
    contentLength: summary.descriptor.contentLengthBytes ?? 0,
    finishedPieces: summary.finishedPieceCount,
    totalPieces: totalPiecesOf(summary.descriptor),
    createdAtMs: summary.descriptor.createdAtMs,
    updatedAtMs: summary.lastAccessMs,
  }
}
