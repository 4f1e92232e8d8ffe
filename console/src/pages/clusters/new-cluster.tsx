import { useNavigate } from 'react-router'
import { newClusterBody } from '@manager-api/cluster-schemas'
import { api } from '../../api/client'
import { problemWith } from '../../api/validate'
import { PageHeader } from '../../components/layout'
import { ClusterForm } from './cluster-form'
import { EMPTY_CLUSTER_FORM, newClusterBodyOf, type ClusterFormValues } from './cluster-form-values'

/** Creates a cluster, checked with the API's own schema before it is sent. */
export function NewClusterPage() {
  const navigate = useNavigate()

  async function create(values: ClusterFormValues): Promise<string | undefined> {
    const body = newClusterBodyOf(values)
    const problem = problemWith(newClusterBody, body)
    if (problem !== undefined) return problem
    const cluster = await api.post('/api/v1/clusters', { body })
    void navigate(`/clusters/${cluster.id}`)
    return undefined
  }

  return (
    <>
      <PageHeader title="New cluster" />
      <ClusterForm initial={EMPTY_CLUSTER_FORM} submitLabel="Create cluster" submit={create} />
    </>
  )
}
