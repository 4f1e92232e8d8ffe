import { useState } from 'react'
import { useParams } from 'react-router'
import { api } from '../../api/client'
import type { Scheduler } from '../../api/types'
import { useResource } from '../../api/use-resource'
import { DataTable } from '../../components/data-table'
import { ErrorLine } from '../../components/error-line'
import { Pager } from '../../components/pager'
import { memberColumns } from './member-columns'

const PER_PAGE = 50
const COLUMNS = memberColumns<Scheduler>()

/** A cluster's schedulers and whether each keeps alive, refreshed every 5 s. */
export function ClusterSchedulersTab() {
  const { id = '' } = useParams()
  const [page, setPage] = useState(1)
  const schedulers = useResource(
    (signal) => api.list('/api/v1/schedulers', { query: { scheduler_cluster_id: id, page: String(page), per_page: String(PER_PAGE) }, signal }),
    `${id}/${page}`,
    { refreshMs: 5000 },
  )
  return (
    <div>
      <ErrorLine message={schedulers.error} />
      <DataTable caption="Schedulers" columns={COLUMNS} rows={schedulers.data?.items} rowKey={(row) => row.id} empty="no scheduler has joined this cluster" />
      <Pager page={page} perPage={PER_PAGE} total={schedulers.data?.total} onPage={setPage} />
    </div>
  )
}
