import { SCOPES } from '@manager-jobs/job-args'
import { ErrorLine } from '../../components/error-line'
import { Field, SelectField } from '../../components/field'
import { PageHeader } from '../../components/layout'
import { ClusterCheckboxes } from './cluster-checkboxes'
import { EMPTY_PREHEAT, preheatBody } from './preheat-body'
import { TextAreaField } from '../../components/text-area-field'
import { useJobForm } from './use-job-form'

/** Creates a preheat job; checked with the API's own schemas before it is sent. */
export function NewPreheatPage() {
  const { form, set, text, error, busy, submit } = useJobForm(EMPTY_PREHEAT, preheatBody, '/jobs/preheats')

  return (
    <>
      <PageHeader title="New preheat" />
      <form onSubmit={(event) => void submit(event)} className="card form" noValidate>
        <SelectField label="Type" value={form.type} options={['image', 'file']} onChange={(value) => set('type')(value === 'file' ? 'file' : 'image')} />
        <Field label="URL" type="url" required {...text('url')}
          hint={form.type === 'image' ? 'the image\'s manifest URL, e.g. https://registry.example/v2/library/alpine/manifests/3.19' : 'the file\'s http or https URL'} />
        <div className="field-row">
          <Field label="Platform" placeholder="linux/amd64" {...text('platform')} hint="os/arch of an image index; empty: the manager's" />
          <Field label="Tag" {...text('tag')} />
          <Field label="Application" {...text('application')} />
        </div>
        <div className="field-row">
          <Field label="Username" autoComplete="off" {...text('username')} />
          <Field label="Password" type="password" autoComplete="new-password" {...text('password')} />
        </div>
        <TextAreaField label="Headers" {...text('headers')} hint="one a line, Name: value" spellCheck={false} />
        <div className="field-row">
          <Field label="Filtered query params" {...text('filteredQueryParams')} hint="names left out of the task id, & separated" />
          <Field label="Piece length" inputMode="numeric" {...text('pieceLength')} hint="bytes; empty: chosen from the size" />
        </div>
        <SelectField label="Scope" value={form.scope} options={SCOPES} onChange={(value) => set('scope')(SCOPES.find((scope) => scope === value) ?? 'single_seed_peer')} />
        <TextAreaField label="IPs" {...text('ips')} hint="one IP address or hostname a line; empty: every host the scope names" spellCheck={false} />
        <div className="field-row">
          <Field label="Count" inputMode="numeric" {...text('count')} hint="keep this many hosts" />
          <Field label="Percentage" inputMode="numeric" {...text('percentage')} hint="or this share of them, 1 to 100" />
          <Field label="Timeout (seconds)" inputMode="numeric" {...text('timeoutSeconds')} />
        </div>
        <ClusterCheckboxes value={form.clusterIds} onChange={set('clusterIds')} />
        <ErrorLine message={error} />
        <button type="submit" className="primary" disabled={busy}>Create preheat</button>
      </form>
    </>
  )
}
