import { createHash } from 'node:crypto'
import type { HostId, TaskId } from '../protocol/ids.js'

function weight(taskId: TaskId, host: { readonly id: HostId }): bigint {
  return createHash('sha256').update(`${taskId}\n${host.id}`).digest().readBigUInt64BE(0)
}

/**
 * Rendezvous (highest random weight) hashing of the task id over the seed hosts: every scheduler
 * picks the same seed for a task, and a seed joining or leaving moves only its own share of tasks.
 */
export function seedHostFor<H extends { readonly id: HostId }>(taskId: TaskId, seedHosts: readonly H[]): H | undefined {
  let best: { host: H; weight: bigint } | undefined
  for (const host of seedHosts) {
    const w = weight(taskId, host)
    if (best === undefined || w > best.weight || (w === best.weight && host.id < best.host.id)) best = { host, weight: w }
  }
  return best?.host
}
