import { useState } from 'react'
import { useParams } from 'react-router'
import { api } from '../../api/client'
import type { Job, JobHostRow } from '../../api/types'
import { useResource } from '../../api/use-resource'
import { DataTable, type Column } from '../../components/data-table'
import { ErrorLine } from '../../components/error-line'
import { PageHeader } from '../../components/layout'
import { Pager } from '../../components/pager'
import { StateBadge } from '../../components/state-badge'
import { progressText } from './host-progress'
import { JobActions } from './job-actions'
import { JobFacts } from './job-facts'

const BASE_PATH = '/jobs/preheats'
const PER_PAGE = 50
/** Two requests a refresh (the job and its hosts): one a second on average. */
const PENDING_REFRESH_MS = 2000

const COLUMNS: readonly Column<JobHostRow>[] = [
  { header: 'Host', cell: (row) => row.hostname === '' ? row.host_id : row.hostname },
  { header: 'IP', cell: (row) => row.ip },
  { header: 'Type', cell: (row) => row.host_type === 'super' ? 'seed peer' : 'peer' },
  { header: 'URL', cell: (row) => <span className="job-url">{row.url}</span> },
  {
    header: 'Progress',
    numeric: true,
    cell: (row) => progressText({ state: row.state, completedBytes: row.completed_bytes, contentLength: row.content_length, finishedPieces: row.finished_pieces, totalPieces: row.total_pieces }),
  },
  { header: 'State', cell: (row) => <StateBadge state={row.state} /> },
  { header: 'Error', cell: (row) => [row.code, row.description].filter((part) => part !== '').join(': ') },
]

function factsOf(job: Job): [string, string][] {
  const { scope, ips, count, percentage, platform } = job.args
  return [
    ['Scope', typeof scope === 'string' ? scope : 'single_seed_peer'],
    ...(Array.isArray(ips) && ips.length > 0 ? [['IPs', ips.join(', ')] as [string, string]] : []),
    ...(typeof count === 'number' ? [['Count', String(count)] as [string, string]] : []),
    ...(typeof percentage === 'number' ? [['Percentage', `${percentage}%`] as [string, string]] : []),
    ...(typeof platform === 'string' ? [['Platform', platform] as [string, string]] : []),
  ]
}

/** A preheat job: its state, refreshed while it is pending, and each host's result and error. */
export function PreheatPage() {
  const { id = '' } = useParams()
  const [page, setPage] = useState(1)
  const [pending, setPending] = useState(true)
  const detail = useResource(async (signal) => {
    const path = { id }
    const [job, hosts] = await Promise.all([
      api.get('/api/v1/jobs/{id}', { path, signal }),
      api.list('/api/v1/jobs/{id}/hosts', { path, query: { page: String(page), per_page: String(PER_PAGE) }, signal }),
    ])
    setPending(job.state === 'PENDING')
    return { job, hosts }
  }, `${id}/${page}`, pending ? { refreshMs: PENDING_REFRESH_MS } : {})
  const job = detail.data?.job
  return (
    <>
      <PageHeader title={`Preheat ${id}`}>
        {job === undefined ? null : <JobActions job={job} basePath={BASE_PATH} onJob={detail.reload} onRerun={() => setPending(true)} />}
      </PageHeader>
      <ErrorLine message={detail.error} />
      {job === undefined ? (detail.error === undefined ? <p className="loading">loading…</p> : null) : <JobFacts job={job} basePath={BASE_PATH} extra={factsOf(job)} />}
      <h2>Hosts</h2>
      <DataTable caption="Hosts" columns={COLUMNS} rows={detail.data?.hosts.items} rowKey={(row) => `${row.host_id}\n${row.url}`} empty={job?.phase === 'done' ? 'no host took part' : 'no host has started yet'} />
      <Pager page={page} perPage={PER_PAGE} total={detail.data?.hosts.total} onPage={setPage} />
    </>
  )
}
