import { describe, expect, it } from 'vitest'
import type { TaskAnswer } from './task-job'
import { deletedRowsOf, holderCount, holderRowsOf, shortTaskId } from './task-rows'

const peer = (hostname: string, state: string) => ({
  id: `${hostname}-t`, host_id: `h-${hostname}`, hostname, ip: '10.0.0.1', host_type: 'normal' as const, state,
  content_length: 10, finished_pieces: 3, total_pieces: 4, created_at: '2026-12-01T07:00:00.000Z', updated_at: '2026-12-01T07:00:01.000Z',
})

describe('task rows', () => {
  it('lists every holder of every task in every cluster, then the hosts that did not answer', () => {
    const tasks: TaskAnswer[] = [
      { task_id: 't1', results: [{ scheduler_cluster_id: 1, peers: [peer('a', 'Succeeded')], unanswered_hosts: [{ hostname: 'z', ip: '10.0.0.9', host_type: 'super' }] }, { scheduler_cluster_id: 2, peers: [peer('b', 'Partial')] }] },
      { task_id: 't2', digest: 'sha256:x', results: [{ scheduler_cluster_id: 1, peers: [] }] },
    ]
    expect(holderRowsOf(tasks).map((row) => [row.taskId, row.clusterId, row.hostname, row.state, row.pieces])).toEqual([
      ['t1', 1, 'a', 'Succeeded', '3/4'], ['t1', 1, 'z', 'No answer', ''], ['t1', 2, 'b', 'Partial', '3/4'],
    ])
    expect(tasks.map(holderCount)).toEqual([2, 0])
    expect(new Set(holderRowsOf(tasks).map((row) => row.key)).size).toBe(3)
  })

  it('lists each host a delete reached, deleted or with why not', () => {
    const rows = deletedRowsOf([{ task_id: 't1', results: [{ scheduler_cluster_id: 1, success_tasks: [{ hostname: 'a', ip: '1', host_type: 'normal' }], failure_tasks: [{ hostname: 'b', ip: '2', host_type: 'super', description: 'the task is in use' }] }] }])
    expect(rows.map((row) => [row.hostname, row.deleted, row.description])).toEqual([['a', true, ''], ['b', false, 'the task is in use']])
  })

  it('shortens a task id for a cell', () => {
    expect(shortTaskId('0123456789abcdef'.repeat(4))).toBe('01234567…89abcdef')
    expect(shortTaskId('short')).toBe('short')
  })
})
