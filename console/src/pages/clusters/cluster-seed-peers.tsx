import { useState } from 'react'
import { useParams } from 'react-router'
import { api } from '../../api/client'
import type { SeedPeer } from '../../api/types'
import { useResource } from '../../api/use-resource'
import { DataTable } from '../../components/data-table'
import { ErrorLine } from '../../components/error-line'
import { Pager } from '../../components/pager'
import { memberColumns } from './member-columns'

const PER_PAGE = 50
const COLUMNS = memberColumns<SeedPeer>()

/** A cluster's seed peers and whether each keeps alive, refreshed every 5 s. */
export function ClusterSeedPeersTab() {
  const { id = '' } = useParams()
  const [page, setPage] = useState(1)
  const seedPeers = useResource(
    (signal) => api.list('/api/v1/seed-peers', { query: { seed_peer_cluster_id: id, page: String(page), per_page: String(PER_PAGE) }, signal }),
    `${id}/${page}`,
    { refreshMs: 5000 },
  )
  return (
    <div>
      <ErrorLine message={seedPeers.error} />
      <DataTable caption="Seed peers" columns={COLUMNS} rows={seedPeers.data?.items} rowKey={(row) => row.id} empty="no seed peer has joined this cluster" />
      <Pager page={page} perPage={PER_PAGE} total={seedPeers.data?.total} onPage={setPage} />
    </div>
  )
}
