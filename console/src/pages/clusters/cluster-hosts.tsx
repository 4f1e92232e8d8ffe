import { useState, type SyntheticEvent } from 'react'
import { useParams } from 'react-router'
import { hostsQuery } from '@manager-api/host-schemas'
import { api } from '../../api/client'
import type { Host } from '../../api/types'
import { useResource } from '../../api/use-resource'
import { problemWith } from '../../api/validate'
import { BarChart } from '../../components/bar-chart'
import { DataTable, type Column } from '../../components/data-table'
import { ErrorLine } from '../../components/error-line'
import { Field, SelectField } from '../../components/field'
import { formatTime } from '../../components/format'
import { Pager } from '../../components/pager'
import { hostFilterQuery, NO_HOST_FILTERS, type HostFilters } from './host-filters'

const PER_PAGE = 20

const COLUMNS: readonly Column<Host>[] = [
  { header: 'Hostname', cell: (row) => row.hostname },
  { header: 'IP', cell: (row) => `${row.ip}:${row.port}` },
  { header: 'Type', cell: (row) => row.type },
  { header: 'Version', cell: (row) => row.version },
  { header: 'IDC', cell: (row) => row.idc },
  { header: 'Location', cell: (row) => row.location },
  { header: 'OS', cell: (row) => row.os },
  { header: 'Last seen', cell: (row) => <time dateTime={row.last_seen}>{formatTime(row.last_seen)}</time> },
]

const TYPES = [{ value: '', label: 'any' }, { value: 'normal', label: 'normal' }, { value: 'seed', label: 'seed' }] as const

/** How many hosts of the cluster run each version, most common first. */
function VersionsChart({ clusterId, type }: { readonly clusterId: string; readonly type: HostFilters['type'] }) {
  const versions = useResource(
    (signal) => api.get('/api/v1/hosts/versions', { query: { cluster_id: clusterId, ...(type === '' ? {} : { type }) }, signal }),
    `${clusterId}/${type}`,
  )
  const bars = (versions.data ?? []).map((row) => ({ label: row.version === '' ? 'unknown' : row.version, parts: [{ series: 'hosts', value: row.count }] }))
  return (
    <>
      <h2>Hosts by version</h2>
      <ErrorLine message={versions.error} />
      <BarChart title="Hosts by version" bars={bars} height={160} />
    </>
  )
}

/** The hosts of a cluster, filtered and paged, with the spread of their versions. */
export function ClusterHostsTab() {
  const { id = '' } = useParams()
  const [draft, setDraft] = useState<HostFilters>(NO_HOST_FILTERS)
  const [applied, setApplied] = useState<HostFilters>(NO_HOST_FILTERS)
  const [page, setPage] = useState(1)
  const [problem, setProblem] = useState<string | undefined>(undefined)
  const query = { cluster_id: id, ...hostFilterQuery(applied), page: String(page), per_page: String(PER_PAGE) }
  const hosts = useResource((signal) => api.list('/api/v1/hosts', { query, signal }), JSON.stringify(query))

  function filter(event: SyntheticEvent) {
    event.preventDefault()
    const found = problemWith(hostsQuery, { cluster_id: id, ...hostFilterQuery(draft) }, 'query')
    setProblem(found)
    if (found !== undefined) return
    setApplied(draft)
    setPage(1)
  }

  const bind = (field: Exclude<keyof HostFilters, 'type'>) => ({ value: draft[field], onChange: (event: { target: { value: string } }) => setDraft((current) => ({ ...current, [field]: event.target.value })) })

  return (
    <div>
      <form className="filters" onSubmit={filter} aria-label="Host filters">
        <Field label="Version" name="version" {...bind('version')} />
        <SelectField label="Type" value={draft.type} options={TYPES} onChange={(type) => setDraft((current) => ({ ...current, type: type === 'normal' || type === 'seed' ? type : '' }))} />
        <Field label="IDC" name="idc" {...bind('idc')} />
        <Field label="Location" name="location" {...bind('location')} />
        <Field label="Hostname" name="hostname" {...bind('hostname')} hint="matches a part of the name" />
        <div className="field filter-buttons">
          <button type="submit" className="primary">Filter</button>
          <button type="button" onClick={() => { setDraft(NO_HOST_FILTERS); setApplied(NO_HOST_FILTERS); setPage(1); setProblem(undefined) }}>Clear</button>
        </div>
      </form>
      <ErrorLine message={problem ?? hosts.error} />
      <DataTable caption="Hosts" columns={COLUMNS} rows={hosts.data?.items} rowKey={(row) => row.id} empty="no host matches" />
      <Pager page={page} perPage={PER_PAGE} total={hosts.data?.total} onPage={setPage} />
      <VersionsChart clusterId={id} type={applied.type} />
    </div>
  )
}
