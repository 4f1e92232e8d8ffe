import { Route } from 'react-router'
import { ClusterHostsTab } from './cluster-hosts'
import { ClusterListPage } from './cluster-list'
import { ClusterOverviewTab } from './cluster-overview'
import { ClusterPage } from './cluster-page'
import { ClusterSchedulersTab } from './cluster-schedulers'
import { ClusterSeedPeersTab } from './cluster-seed-peers'
import { EditClusterPage } from './edit-cluster'
import { NewClusterPage } from './new-cluster'

/** The clusters pages, under the signed-in layout. */
export const clustersRoutes = (
  <>
    <Route path="/clusters" element={<ClusterListPage />} />
    <Route path="/clusters/new" element={<NewClusterPage />} />
    <Route path="/clusters/:id/edit" element={<EditClusterPage />} />
    <Route path="/clusters/:id" element={<ClusterPage />}>
      <Route index element={<ClusterOverviewTab />} />
      <Route path="schedulers" element={<ClusterSchedulersTab />} />
      <Route path="seed-peers" element={<ClusterSeedPeersTab />} />
      <Route path="hosts" element={<ClusterHostsTab />} />
    </Route>
  </>
)
