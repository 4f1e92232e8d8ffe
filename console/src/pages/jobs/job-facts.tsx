import { Link } from 'react-router'
import type { Job } from '../../api/types'
import { formatTime } from '../../components/format'
import { StateBadge } from '../../components/state-badge'
import { jobUrlList } from './job-urls'

/** What a job is and where it stands: its state (for tests too, `job-state`), clusters, times and error. */
export function JobFacts({ job, basePath, extra = [] }: {
  readonly job: Job
  readonly basePath: string
  /** More facts of the job's type, `[term, value]`. */
  readonly extra?: readonly (readonly [string, string])[]
}) {
  const urls = jobUrlList(job)
  const times: (readonly [string, string | null])[] = [['Created', job.created_at], ['Scheduled at', job.scheduled_at], ['Started', job.started_at], ['Finished', job.finished_at]]
  return (
    <div className="card job-facts">
      <dl>
        <div><dt>State</dt><dd><span data-testid="job-state"><StateBadge state={job.state} /></span>{job.state === 'PENDING' ? <span className="job-phase"> {job.phase}</span> : null}</dd></div>
        <div><dt>Type</dt><dd>{typeof job.args['type'] === 'string' ? job.args['type'] : ''}</dd></div>
        <div className="job-facts-wide"><dt>{urls.length > 1 ? 'URLs' : 'URL'}</dt><dd>{urls.map((url) => <span key={url} className="job-url">{url}</span>)}</dd></div>
        <div><dt>Clusters</dt><dd>{job.scheduler_clusters.map((cluster) => cluster.name === '' ? `#${cluster.id}` : cluster.name).join(', ')}</dd></div>
        {extra.map(([term, value]) => <div key={term}><dt>{term}</dt><dd>{value}</dd></div>)}
        <div><dt>Created by</dt><dd>{job.user_name}</dd></div>
        {times.filter(([, at]) => at !== null).map(([term, at]) => <div key={term}><dt>{term}</dt><dd>{formatTime(at)}</dd></div>)}
        <div><dt>Runs</dt><dd>{job.run_count}</dd></div>
        {job.copied_from === null ? null : <div><dt>Copy of</dt><dd><Link to={`${basePath}/${job.copied_from}`}>job {job.copied_from}</Link></dd></div>}
        {job.stop_requested_by === null ? null : <div><dt>Stopped by</dt><dd>{job.stop_requested_by}</dd></div>}
      </dl>
      {job.error === '' ? null : <p className="job-error">{job.error}</p>}
    </div>
  )
}
