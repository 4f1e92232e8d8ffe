import { useMemo } from 'react'
import { useParams } from 'react-router'
import type { Job } from '../../api/types'
import { DataTable, type Column } from '../../components/data-table'
import { ErrorLine } from '../../components/error-line'
import { formatBytes, formatRate } from '../../components/format'
import { PageHeader } from '../../components/layout'
import { StateBadge } from '../../components/state-badge'
import { hostProgressOf, progressPercent, progressText, type HostProgress } from './host-progress'
import { JobActions } from './job-actions'
import { JobFacts } from './job-facts'
import { useLiveJob, type OpenEvents } from './use-live-job'

const BASE_PATH = '/jobs/distributions'

const COLUMNS: readonly Column<HostProgress>[] = [
  { header: 'Host', cell: (host) => host.hostname === '' ? host.hostId : host.hostname },
  { header: 'IP', cell: (host) => host.ip },
  // The cell's text is the figure alone ("NN%"); the bar beside it has no text of its own.
  { header: 'Progress', numeric: true, cell: (host) => <span className="job-progress"><progress max={100} value={progressPercent(host)} aria-hidden="true" />{progressText(host)}</span> },
  { header: 'Received', numeric: true, cell: (host) => host.contentLength > 0 ? `${formatBytes(host.completedBytes)} of ${formatBytes(host.contentLength)}` : formatBytes(host.completedBytes) },
  { header: 'Rate', numeric: true, cell: (host) => host.state === 'RUNNING' ? formatRate(host.bytesPerSecond) : '' },
  { header: 'State', cell: (host) => <StateBadge state={host.state} /> },
  { header: 'Error', cell: (host) => host.error },
]

function factsOf(job: Job): [string, string][] {
  const rate = job.args['rate_limit']
  const hosts = job.args['hosts']
  const outputPath = job.args['output_path']
  return [
    ['Bandwidth limit', typeof rate === 'number' && rate > 0 ? formatRate(rate) : 'none'],
    ['Hosts asked', Array.isArray(hosts) && hosts.length > 0 ? hosts.join(', ') : 'every host of the clusters'],
    ...(typeof outputPath === 'string' ? [['Output path', outputPath] as [string, string]] : []),
  ]
}

/** A distribution job, live: each host's progress, rate and state as the job runs. */
export function DistributionPage({ openEvents }: { readonly openEvents?: OpenEvents }) {
  const { id = '' } = useParams()
  const live = useLiveJob(id, openEvents)
  const hosts = useMemo(() => hostProgressOf(live.rows.values()), [live.rows])
  const { job } = live
  return (
    <>
      <PageHeader title={`Distribution ${id}`}>
        {job === undefined ? null : <JobActions job={job} basePath={BASE_PATH} onJob={live.show} onRerun={live.restart} />}
      </PageHeader>
      <ErrorLine message={live.error} />
      {job === undefined ? (live.error === undefined ? <p className="loading">loading…</p> : null) : <JobFacts job={job} basePath={BASE_PATH} extra={factsOf(job)} />}
      {live.via === 'polling' && job?.phase !== 'done' ? <p className="job-live-note" role="status">The live stream was lost: reading the hosts once a second.</p> : null}
      <h2>Hosts</h2>
      <DataTable caption="Hosts" columns={COLUMNS} rows={job === undefined && hosts.length === 0 ? undefined : hosts} rowKey={(host) => host.hostId} empty={job?.phase === 'done' ? 'no host took part' : 'no host has started yet'} />
    </>
  )
}
