import { vi } from 'vitest'
import type { Job, JobHostRow } from '../../api/types'

/** A host row as the API words it, with what a test does not care about filled in. */
export function hostRow(values: Partial<JobHostRow> & Pick<JobHostRow, 'host_id'>): JobHostRow {
  return {
    scheduler_cluster_id: 1, hostname: `${values.host_id}.example`, ip: '10.0.0.1', host_type: 'normal', url: 'https://files.example/a', task_id: 'a'.repeat(64),
    state: 'RUNNING', completed_bytes: 0, content_length: 0, finished_pieces: 0, total_pieces: 0, bytes_per_second: 0, code: '', description: '', cost_ms: 0,
    updated_at: '2026-12-01T07:00:00.000Z', ...values,
  }
}

/** A distribution job as the API words it. */
export function distributionJob(values: Partial<Job> = {}): Job {
  return {
    id: 7, task_id: 'group_1', type: 'distribution', state: 'PENDING', phase: 'running', bio: '', args: { type: 'file', urls: ['https://files.example/a'], rate_limit: 52428800 },
    result: null, error: '', user_id: 1, user_name: 'root', run_count: 1, copied_from: null, stop_requested_by: null, scheduled_at: null,
    started_at: '2026-12-01T07:00:00.000Z', finished_at: null, scheduler_clusters: [{ id: 1, name: 'cluster-1' }],
    created_at: '2026-12-01T07:00:00.000Z', updated_at: '2026-12-01T07:00:00.000Z', ...values,
  }
}

const ME = { id: 1, name: 'root', email: '', state: 'enable', must_change_password: false, last_signin_at: null, created_at: '', updated_at: '', roles: ['root'], permissions: [{ object: 'job', action: 'write' }] }

/** The manager: who is signed in, and whatever `answers` says for the job routes; every call is recorded. */
export function stubApi(answers: (url: string, init: RequestInit | undefined) => { body: unknown; total?: number }): string[] {
  const calls: string[] = []
  vi.stubGlobal('fetch', vi.fn((url: string, init?: RequestInit) => {
    calls.push(url)
    const answer = url === '/api/v1/users/me' ? { body: ME } : answers(url, init)
    const headers = answer.total === undefined ? undefined : { 'total-count': String(answer.total) }
    return Promise.resolve(new Response(JSON.stringify(answer.body), { status: 200, ...(headers === undefined ? {} : { headers }) }))
  }))
  return calls
}
