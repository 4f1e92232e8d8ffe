import { useState } from 'react'
import { useNavigate } from 'react-router'
import { api } from '../../api/client'
import type { Job } from '../../api/types'
import { useSession } from '../../auth/session'
import { ErrorLine } from '../../components/error-line'

/**
 * Stop, Rerun failed hosts and Copy, for those who may write jobs. Each shows the job the API
 * answers; a copy opens the new job's page.
 */
export function JobActions({ job, basePath, onJob, onRerun }: {
  readonly job: Job
  readonly basePath: string
  readonly onJob: (job: Job) => void
  /** A rerun starts the job again: its live view must follow it anew. */
  readonly onRerun: () => void
}) {
  const session = useSession()
  const navigate = useNavigate()
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<string | undefined>(undefined)
  if (!session.can('job', 'write')) return null
  const path = { id: String(job.id) }

  async function act(run: () => Promise<void>) {
    setBusy(true)
    setError(undefined)
    try {
      await run()
    } catch (failure) {
      setError(failure instanceof Error ? failure.message : String(failure))
    } finally {
      setBusy(false)
    }
  }

  return (
    <div className="job-actions">
      <div className="actions">
        <button type="button" className="danger" disabled={busy || job.phase === 'done'} onClick={() => void act(async () => onJob(await api.post('/api/v1/jobs/{id}/stop', { path })))}>Stop</button>
        <button type="button" disabled={busy || job.phase !== 'done' || job.state !== 'FAILURE'} onClick={() => void act(async () => {
          onJob(await api.post('/api/v1/jobs/{id}/rerun', { path }))
          onRerun()
        })}>Rerun failed hosts</button>
        <button type="button" disabled={busy} onClick={() => void act(async () => {
          const copy = await api.post('/api/v1/jobs/{id}/copy', { path, body: {} })
          void navigate(`${basePath}/${copy.id}`)
        })}>Copy</button>
      </div>
      <ErrorLine message={error} />
    </div>
  )
}
