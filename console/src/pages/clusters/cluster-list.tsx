import { useState } from 'react'
import { Link } from 'react-router'
import { api } from '../../api/client'
import type { Cluster } from '../../api/types'
import { useResource } from '../../api/use-resource'
import { useSession } from '../../auth/session'
import { DataTable, type Column } from '../../components/data-table'
import { ErrorLine } from '../../components/error-line'
import { formatTime } from '../../components/format'
import { PageHeader } from '../../components/layout'
import { Pager } from '../../components/pager'

const PER_PAGE = 20

const COLUMNS: readonly Column<Cluster>[] = [
  { header: 'Name', cell: (row) => <Link to={`/clusters/${row.id}`}>{row.name}</Link> },
  { header: 'Description', cell: (row) => row.is_default ? <>{row.bio} <span className="badge">default</span></> : row.bio },
  { header: 'Schedulers', cell: (row) => row.members.active_schedulers, numeric: true },
  { header: 'Seed peers', cell: (row) => row.members.active_seed_peers, numeric: true },
  { header: 'Hosts', cell: (row) => row.members.hosts, numeric: true },
  { header: 'Created', cell: (row) => <time dateTime={row.created_at}>{formatTime(row.created_at)}</time> },
]

/** The clusters, with how many schedulers and seed peers keep alive in each and how many hosts it holds. */
export function ClusterListPage() {
  const session = useSession()
  const [page, setPage] = useState(1)
  const clusters = useResource((signal) => api.list('/api/v1/clusters', { query: { page: String(page), per_page: String(PER_PAGE) }, signal }), String(page))
  return (
    <>
      <PageHeader title="Clusters">
        {session.can('cluster', 'write') ? <Link className="button-link" to="/clusters/new">New cluster</Link> : undefined}
      </PageHeader>
      <p className="hint">Schedulers and seed peers count those that kept alive; hosts count every host the cluster&apos;s schedulers reported.</p>
      <ErrorLine message={clusters.error} />
      <DataTable caption="Clusters" columns={COLUMNS} rows={clusters.data?.items} rowKey={(row) => row.id} />
      <Pager page={page} perPage={PER_PAGE} total={clusters.data?.total} onPage={setPage} />
    </>
  )
}
