import { useNavigate, useParams } from 'react-router'
import { clusterPatchBody } from '@manager-api/cluster-schemas'
import { api } from '../../api/client'
import type { Cluster } from '../../api/types'
import { useResource } from '../../api/use-resource'
import { problemWith } from '../../api/validate'
import { useSession } from '../../auth/session'
import { ErrorLine } from '../../components/error-line'
import { PageHeader } from '../../components/layout'
import { ClusterForm } from './cluster-form'
import { clusterPatchOf, formValuesOf, isEmptyPatch, type ClusterFormValues } from './cluster-form-values'
import { DeleteCluster } from './delete-cluster'

function EditClusterForm({ cluster }: { readonly cluster: Cluster }) {
  const navigate = useNavigate()
  const initial = formValuesOf(cluster)

  async function save(values: ClusterFormValues): Promise<string | undefined> {
    const body = clusterPatchOf(initial, values)
    const problem = problemWith(clusterPatchBody, body)
    if (problem !== undefined) return problem
    // Nothing changed: no request, no audit line.
    if (!isEmptyPatch(body)) await api.patch('/api/v1/clusters/{id}', { path: { id: String(cluster.id) }, body })
    void navigate(`/clusters/${cluster.id}`)
    return undefined
  }

  return <ClusterForm initial={initial} submitLabel="Save cluster" submit={save} />
}

/** Edits a cluster's name, scopes and configuration; a PATCH carries only what changed. */
export function EditClusterPage() {
  const { id = '' } = useParams()
  const session = useSession()
  const cluster = useResource((signal) => api.get('/api/v1/clusters/{id}', { path: { id }, signal }), id)
  const data = cluster.data
  return (
    <>
      <PageHeader title={data === undefined ? 'Edit cluster' : `Edit cluster ${data.name}`} />
      <ErrorLine message={cluster.error} />
      {cluster.loading ? <p className="loading">loading…</p> : null}
      {/* Keyed by the answer's time: a form opened on one version of the cluster starts from it. */}
      {data === undefined ? null : <EditClusterForm key={data.updated_at} cluster={data} />}
      {data !== undefined && session.can('cluster', 'write') ? <DeleteCluster cluster={data} /> : null}
    </>
  )
}
