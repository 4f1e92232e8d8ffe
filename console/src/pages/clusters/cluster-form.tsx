import { useState, type SyntheticEvent } from 'react'
import { ErrorLine } from '../../components/error-line'
import { Field } from '../../components/field'
import { TextAreaField } from '../../components/text-area-field'
import type { ClusterFormValues } from './cluster-form-values'

/**
 * The fields of a cluster, for its creation and its edits. `submit` checks and sends the values
 * and answers the problem to show (the API's own line), or undefined when it went through; a
 * failure it throws is shown the same way.
 */
export function ClusterForm({ initial, submitLabel, submit }: {
  readonly initial: ClusterFormValues
  readonly submitLabel: string
  readonly submit: (values: ClusterFormValues) => Promise<string | undefined>
}) {
  const [values, setValues] = useState(initial)
  const [error, setError] = useState<string | undefined>(undefined)
  const [busy, setBusy] = useState(false)

  const bind = (field: keyof ClusterFormValues) => ({
    value: values[field],
    onChange: (event: { target: { value: string } }) => setValues((current) => ({ ...current, [field]: event.target.value })),
  })

  async function onSubmit(event: SyntheticEvent) {
    event.preventDefault()
    setBusy(true)
    try {
      setError(await submit(values))
    } catch (failure) {
      setError(failure instanceof Error ? failure.message : String(failure))
    } finally {
      setBusy(false)
    }
  }

  return (
    <form onSubmit={(event) => void onSubmit(event)} className="card form cluster-form" noValidate>
      <Field label="Name" name="name" required {...bind('name')} hint="letters, digits, and . _ - after the first" />
      <Field label="Description" name="bio" {...bind('bio')} />
      <fieldset>
        <legend>Scopes</legend>
        <p className="hint">A host joins the cluster whose scopes match it best.</p>
        <div className="field-row">
          <Field label="IDC" name="idc" {...bind('idc')} />
          <Field label="Location" name="location" {...bind('location')} hint="e.g. china|hangzhou" />
        </div>
        <TextAreaField label="CIDRs" name="cidrs" {...bind('cidrs')} hint="one address block a line, e.g. 10.0.0.0/8" />
        <TextAreaField label="Hostname patterns" name="hostnames" {...bind('hostnames')} hint="one regular expression a line, e.g. ^east-" />
      </fieldset>
      <fieldset>
        <legend>Scheduling</legend>
        <div className="field-row">
          <Field label="Candidate parents" name="candidate_parent_limit" type="number" inputMode="numeric" {...bind('candidateParentLimit')} hint="parents offered to a peer, 1 to 20" />
          <Field label="Filter parents" name="filter_parent_limit" type="number" inputMode="numeric" {...bind('filterParentLimit')} hint="candidates examined, 1 to 1000" />
          <Field label="Job rate limit" name="job_rate_limit" type="number" inputMode="numeric" {...bind('jobRateLimit')} hint="jobs per second" />
        </div>
        <div className="field-row">
          <Field label="Seed peer load limit" name="seed_peer_load_limit" type="number" inputMode="numeric" {...bind('seedPeerLoadLimit')} hint="uploads a seed peer serves at once" />
          <Field label="Peer load limit" name="peer_load_limit" type="number" inputMode="numeric" {...bind('peerLoadLimit')} hint="uploads a peer serves at once" />
        </div>
      </fieldset>
      <fieldset>
        <legend>Blocklist</legend>
        <TextAreaField label="Blocked applications" name="blocked_applications" {...bind('blockedApplications')} hint="one application a line" />
        <TextAreaField label="Blocked URLs" name="blocked_urls" {...bind('blockedUrls')} hint="one regular expression a line" />
        <TextAreaField label="Blocked tags" name="blocked_tags" {...bind('blockedTags')} hint="one tag a line" />
      </fieldset>
      <ErrorLine message={error} />
      <button type="submit" className="primary" disabled={busy}>{submitLabel}</button>
    </form>
  )
}
