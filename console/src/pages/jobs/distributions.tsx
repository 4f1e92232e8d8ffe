import { formatRate } from '../../components/format'
import { JobList } from './job-list'

/** Distribution jobs: a file or an image delivered to many hosts at once, with live progress. */
export function DistributionsPage() {
  return (
    <JobList type="distribution" title="Distribution" caption="Distribution jobs" newLabel="New distribution" basePath="/jobs/distributions" extraColumns={[
      { header: 'Bandwidth limit', cell: (job) => typeof job.args['rate_limit'] === 'number' && job.args['rate_limit'] > 0 ? formatRate(job.args['rate_limit']) : 'none' },
    ]} />
  )
}
