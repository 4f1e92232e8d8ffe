import { Link, Outlet, useParams } from 'react-router'
import { api } from '../../api/client'
import { useResource } from '../../api/use-resource'
import { useSession } from '../../auth/session'
import { ErrorLine } from '../../components/error-line'
import { PageHeader } from '../../components/layout'
import { Tabs } from '../../components/tabs'

/** One cluster: its name, its tabs (each its own address), and the tab shown. */
export function ClusterPage() {
  const { id = '' } = useParams()
  const session = useSession()
  const cluster = useResource((signal) => api.get('/api/v1/clusters/{id}', { path: { id }, signal }), id)
  const base = `/clusters/${id}`
  return (
    <>
      <PageHeader title={cluster.data?.name ?? `Cluster ${id}`}>
        {session.can('cluster', 'write') ? <Link className="button-link" to={`${base}/edit`}>Edit</Link> : undefined}
      </PageHeader>
      <ErrorLine message={cluster.error} />
      {cluster.data === undefined || cluster.data.bio === '' ? null : <p className="hint">{cluster.data.bio}</p>}
      <Tabs label="Cluster" tabs={[
        { to: base, label: 'Overview' },
        { to: `${base}/schedulers`, label: 'Schedulers' },
        { to: `${base}/seed-peers`, label: 'Seed peers' },
        { to: `${base}/hosts`, label: 'Hosts' },
      ]} />
      <Outlet />
    </>
  )
}
