import { useId } from 'react'
import { api } from '../../api/client'
import { useResource } from '../../api/use-resource'
import { ErrorLine } from '../../components/error-line'

export interface ClusterChoice {
  readonly id: number
  readonly name: string
}

/** The id and name of each cluster `GET /api/v1/clusters` answers; anything else is ignored. */
export function clusterChoicesOf(items: readonly unknown[]): ClusterChoice[] {
  return items.flatMap((item) => {
    if (typeof item !== 'object' || item === null) return []
    const { id, name } = item as Record<string, unknown>
    return typeof id === 'number' && typeof name === 'string' ? [{ id, name }] : []
  })
}

/** The clusters a job runs in, as checkboxes labelled with their names; none checked: the default cluster. */
export function ClusterCheckboxes({ value, onChange }: { readonly value: readonly number[]; readonly onChange: (ids: number[]) => void }) {
  const hint = useId()
  const clusters = useResource(async (signal) => clusterChoicesOf((await api.list('/api/v1/clusters', { query: { per_page: '1000' }, signal })).items), 'clusters')
  const toggle = (id: number, checked: boolean): void => onChange(checked ? [...value.filter((held) => held !== id), id] : value.filter((held) => held !== id))
  return (
    <fieldset aria-describedby={hint}>
      <legend>Clusters</legend>
      {clusters.loading ? <p className="loading-line">loading…</p> : null}
      <ErrorLine message={clusters.error} />
      <div className="job-clusters">
        {clusters.data?.map((cluster) => (
          <label key={cluster.id} className="check">
            <input type="checkbox" checked={value.includes(cluster.id)} onChange={(event) => toggle(cluster.id, event.target.checked)} />
            {cluster.name}
          </label>
        ))}
      </div>
      <small id={hint}>None checked: the default cluster.</small>
    </fieldset>
  )
}
