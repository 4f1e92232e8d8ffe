import { JobList } from './job-list'

/** Preheat jobs: warm seed peers (or every peer) with an image or a file before it is pulled. */
export function PreheatsPage() {
  return (
    <JobList type="preheat" title="Preheat" caption="Preheat jobs" newLabel="New preheat" basePath="/jobs/preheats" extraColumns={[
      { header: 'Scope', cell: (job) => typeof job.args['scope'] === 'string' ? job.args['scope'] : '' },
    ]} />
  )
}
