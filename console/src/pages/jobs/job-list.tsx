import { useState } from 'react'
import { Link } from 'react-router'
import { api } from '../../api/client'
import type { Job, JobState } from '../../api/types'
import { useResource } from '../../api/use-resource'
import { useSession } from '../../auth/session'
import { DataTable, type Column } from '../../components/data-table'
import { ErrorLine } from '../../components/error-line'
import { formatTime } from '../../components/format'
import { SelectField } from '../../components/field'
import { PageHeader } from '../../components/layout'
import { Pager } from '../../components/pager'
import { StateBadge } from '../../components/state-badge'
import { jobUrls } from './job-urls'

const PER_PAGE = 20
/** A list with a job still pending looks again this often, to show it end. */
const PENDING_REFRESH_MS = 5000
const STATES = ['', 'PENDING', 'SUCCESS', 'FAILURE'] as const

/** The preheat or distribution jobs, newest first, a page at a time, by state. */
export function JobList({ type, title, caption, newLabel, basePath, extraColumns = [] }: {
  readonly type: 'preheat' | 'distribution'
  readonly title: string
  readonly caption: string
  readonly newLabel: string
  /** `/jobs/preheats`: the list's address; `new` and each job's id are under it. */
  readonly basePath: string
  readonly extraColumns?: readonly Column<Job>[]
}) {
  const session = useSession()
  const [page, setPage] = useState(1)
  const [state, setState] = useState<JobState | ''>('')
  const jobs = useResource(
    (signal) => api.list('/api/v1/jobs', { query: { type, page: String(page), per_page: String(PER_PAGE), ...(state === '' ? {} : { state }) }, signal }),
    `${type}/${page}/${state}`,
    { refreshMs: PENDING_REFRESH_MS },
  )
  const columns: Column<Job>[] = [
    { header: 'ID', cell: (job) => <Link to={`${basePath}/${job.id}`}>{job.id}</Link> },
    { header: 'State', cell: (job) => <StateBadge state={job.state} /> },
    { header: 'URL', cell: (job) => <span className="job-url">{jobUrls(job)}</span> },
    ...extraColumns,
    { header: 'Clusters', cell: (job) => job.scheduler_clusters.map((cluster) => cluster.name).join(', ') },
    { header: 'Created by', cell: (job) => job.user_name },
    { header: 'Created', cell: (job) => formatTime(job.created_at) },
  ]
  return (
    <>
      <PageHeader title={title}>
        {session.can('job', 'write') ? <Link to={`${basePath}/new`} className="button-link">{newLabel}</Link> : null}
      </PageHeader>
      <div className="filters">
        <SelectField label="State" value={state} options={STATES.map((value) => ({ value, label: value === '' ? 'any' : value }))} onChange={(value) => {
          setState(value as JobState | '')
          setPage(1)
        }} />
      </div>
      <ErrorLine message={jobs.error} />
      <DataTable caption={caption} columns={columns} rows={jobs.data?.items} rowKey={(job) => job.id} empty="no jobs yet" />
      <Pager page={page} perPage={PER_PAGE} total={jobs.data?.total} onPage={setPage} />
    </>
  )
}
