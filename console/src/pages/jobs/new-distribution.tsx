import { ErrorLine } from '../../components/error-line'
import { Field, SelectField } from '../../components/field'
import { PageHeader } from '../../components/layout'
import { ClusterCheckboxes } from './cluster-checkboxes'
import { distributionBody, EMPTY_DISTRIBUTION } from './distribution-body'
import { TextAreaField } from '../../components/text-area-field'
import { useJobForm } from './use-job-form'

/** Starts a distribution job, now or at a chosen time; checked with the API's own schemas first. */
export function NewDistributionPage() {
  const { form, set, text, error, busy, submit } = useJobForm(EMPTY_DISTRIBUTION, distributionBody, '/jobs/distributions')

  return (
    <>
      <PageHeader title="New distribution" />
      <form onSubmit={(event) => void submit(event)} className="card form" noValidate>
        <SelectField label="Type" value={form.type} options={['file', 'image']} onChange={(value) => set('type')(value === 'image' ? 'image' : 'file')} />
        <Field label="URL" type="url" required {...text('url')}
          hint={form.type === 'image' ? 'the image\'s manifest URL, e.g. https://registry.example/v2/library/alpine/manifests/3.19' : 'the file\'s http or https URL'} />
        <TextAreaField label="Hosts" {...text('hosts')} hint="one IP address or hostname a line; empty: every host of the clusters" spellCheck={false} />
        <ClusterCheckboxes value={form.clusterIds} onChange={set('clusterIds')} />
        <div className="field-row">
          <Field label="Bandwidth limit" placeholder="50MiB" {...text('bandwidthLimit')} hint="per host, per second: bytes or a size such as 50MiB; empty: no limit" />
          <Field label="Start at" type="datetime-local" {...text('startAt')} hint="your local time; empty: now" />
        </div>
        <Field label="Output path" {...text('outputPath')} hint="a file only: written under each daemon's distribution output directory" />
        <div className="field-row">
          <Field label="Platform" placeholder="linux/amd64" {...text('platform')} hint="os/arch of an image index" />
          <Field label="Username" autoComplete="off" {...text('username')} />
          <Field label="Password" type="password" autoComplete="new-password" {...text('password')} />
        </div>
        <ErrorLine message={error} />
        <button type="submit" className="primary" disabled={busy}>Start distribution</button>
      </form>
    </>
  )
}
