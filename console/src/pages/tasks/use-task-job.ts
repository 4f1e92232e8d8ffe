import { useState } from 'react'
import { api } from '../../api/client'
import { useResource } from '../../api/use-resource'
import { asTaskJob, type TaskJob } from './task-job'

/** What a followed job shows: the job as last read, and the last failure to read it. */
export interface FollowedJob {
  readonly job: TaskJob | undefined
  readonly error: string | undefined
  /** The job ended (SUCCESS or FAILURE): it is read no more. */
  readonly done: boolean
}

const PENDING_REFRESH_MS = 1000

/**
 * Follows a job until it ends: reads it once a second while it is pending (and the page is
 * visible), then stops. Nothing is read while `jobId` is undefined.
 */
export function useTaskJob(jobId: number | undefined): FollowedJob {
  const key = jobId === undefined ? 'none' : String(jobId)
  // The job whose end was seen; known from the previous render, so the polling stops on the next.
  const [endedKey, setEndedKey] = useState<string | undefined>(undefined)
  const resource = useResource<TaskJob | undefined>(
    async (signal) => (jobId === undefined ? undefined : asTaskJob(await api.get('/api/v1/jobs/{id}', { path: { id: String(jobId) }, signal }))),
    key,
    { ...(jobId !== undefined && endedKey !== key ? { refreshMs: PENDING_REFRESH_MS } : {}) },
  )
  const done = resource.data !== undefined && resource.data.state !== 'PENDING'
  if (done && endedKey !== key) setEndedKey(key)
  return { job: resource.data, error: resource.error, done }
}
