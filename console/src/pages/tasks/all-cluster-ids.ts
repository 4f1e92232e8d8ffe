import { api } from '../../api/client'

/** The most clusters one search asks: the API's largest page. */
const MAX_CLUSTERS = 1000

/**
 * Every cluster's id, so a search or a delete reaches every cluster ("everywhere"); empty when
 * the user may not list clusters, which the API reads as the default cluster.
 */
export async function allClusterIds(signal?: AbortSignal): Promise<number[]> {
  try {
    const page = await api.list('/api/v1/clusters', { query: { per_page: String(MAX_CLUSTERS) }, ...(signal === undefined ? {} : { signal }) })
    return page.items.flatMap((item) => {
      const id = (item as { id?: unknown } | null)?.id
      return typeof id === 'number' ? [id] : []
    })
  } catch (failure) {
    if (signal?.aborted === true) throw failure
    return []
  }
}
