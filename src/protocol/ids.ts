declare const brand: unique symbol
type Brand<T, B extends string> = T & { readonly [brand]: B }

/** Lowercase hex sha256 naming one task; see task-id.ts. */
export type TaskId = Brand<string, 'TaskId'>
/** One host's download of one task. */
export type PeerId = Brand<string, 'PeerId'>
/** One machine running a daemon. */
export type HostId = Brand<string, 'HostId'>

const TASK_ID = /^[0-9a-f]{64}$/

export function isTaskId(value: string): value is TaskId {
  return TASK_ID.test(value)
}
