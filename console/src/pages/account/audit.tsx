import { useState, type SyntheticEvent } from 'react'
import { auditsQuery } from '@manager-api/audit-schemas'
import { api, type Page } from '../../api/client'
import type { Audit } from '../../api/types'
import { useResource } from '../../api/use-resource'
import { DataTable, type Column } from '../../components/data-table'
import { ErrorLine } from '../../components/error-line'
import { Field, SelectField } from '../../components/field'
import { formatTime } from '../../components/format'
import { PageHeader } from '../../components/layout'
import { Pager } from '../../components/pager'
import { StateBadge } from '../../components/state-badge'
import { auditQuery, NO_AUDIT_FILTER, type AuditFilterFields, type AuditQuery } from './audit-query'

const PER_PAGE = 50

/** A select's choices: "any" first, then the values the API's schema takes. */
function choicesOf(values: readonly string[]): { value: string; label: string }[] {
  return [{ value: '', label: 'any' }, ...values.map((value) => ({ value, label: value }))]
}

const ACTOR_TYPE_CHOICES = choicesOf(auditsQuery.shape.actor_type.unwrap().options)
const OBJECT_CHOICES = choicesOf(auditsQuery.shape.object.unwrap().options)
const STATE_CHOICES = choicesOf(auditsQuery.shape.state.unwrap().options)
const METHOD_CHOICES = choicesOf(auditsQuery.shape.method.unwrap().options)

const COLUMNS: Column<Audit>[] = [
  { header: 'Time', cell: (audit) => formatTime(audit.created_at) },
  { header: 'Actor', cell: (audit) => `${audit.actor_name === '' ? '-' : audit.actor_name} (${audit.actor_type})` },
  { header: 'Method', cell: (audit) => audit.method },
  { header: 'Path', cell: (audit) => <code>{audit.path}</code> },
  { header: 'Object', cell: (audit) => audit.object },
  { header: 'State', cell: (audit) => <StateBadge state={audit.state} /> },
  { header: 'Status', cell: (audit) => audit.status_code, numeric: true },
]

/** Who changed what, newest first; filters apply when the form is sent, and start again at page 1. */
export function AuditPage() {
  const [fields, setFields] = useState<AuditFilterFields>(NO_AUDIT_FILTER)
  const [applied, setApplied] = useState<AuditFilterFields>(NO_AUDIT_FILTER)
  const [page, setPage] = useState(1)
  const [problem, setProblem] = useState<string | undefined>(undefined)

  const request = auditQuery(applied, page, PER_PAGE)
  const query: AuditQuery | undefined = 'query' in request ? request.query : undefined
  const audits = useResource<Page<Audit> | undefined>((signal) => query === undefined ? Promise.resolve(undefined) : api.list('/api/v1/audits', { query, signal }), JSON.stringify(query))

  function set(name: keyof AuditFilterFields, value: string) {
    setFields({ ...fields, [name]: value })
  }

  function apply(event: SyntheticEvent) {
    event.preventDefault()
    const checked = auditQuery(fields, 1, PER_PAGE)
    if ('problem' in checked) {
      setProblem(checked.problem)
      return
    }
    setProblem(undefined)
    setPage(1)
    setApplied(fields)
  }

  function clear() {
    setProblem(undefined)
    setPage(1)
    setFields(NO_AUDIT_FILTER)
    setApplied(NO_AUDIT_FILTER)
  }

  return (
    <>
      <PageHeader title="Audit log" />
      <form className="filters card" onSubmit={apply} role="search" aria-label="Audit filters" noValidate>
        <Field label="Actor" value={fields.actorName} onChange={(event) => set('actorName', event.target.value)} hint="a user's name" />
        <SelectField label="Kind" value={fields.actorType} options={ACTOR_TYPE_CHOICES} onChange={(value) => set('actorType', value)} hint="user, token (pat), …" />
        <SelectField label="Object" value={fields.object} options={OBJECT_CHOICES} onChange={(value) => set('object', value)} />
        <SelectField label="State" value={fields.state} options={STATE_CHOICES} onChange={(value) => set('state', value)} />
        <SelectField label="Method" value={fields.method} options={METHOD_CHOICES} onChange={(value) => set('method', value)} />
        <Field label="Since" type="datetime-local" value={fields.since} onChange={(event) => set('since', event.target.value)} />
        <Field label="Until" type="datetime-local" value={fields.until} onChange={(event) => set('until', event.target.value)} />
        <div className="field row-actions">
          <button type="submit" className="primary">Filter</button>
          <button type="button" onClick={clear}>Clear</button>
        </div>
      </form>
      <ErrorLine message={problem ?? audits.error} />
      <DataTable caption="Audit log" columns={COLUMNS} rows={audits.data?.items} rowKey={(audit) => audit.id} empty="nothing recorded that matches" />
      <Pager page={page} perPage={PER_PAGE} total={audits.data?.total} onPage={setPage} />
    </>
  )
}
