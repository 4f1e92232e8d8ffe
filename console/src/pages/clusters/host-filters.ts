/** The hosts tab's filters as typed; '' means "any". */
export interface HostFilters {
  readonly version: string
  readonly type: '' | 'normal' | 'seed'
  readonly idc: string
  readonly location: string
  readonly hostname: string
}

export const NO_HOST_FILTERS: HostFilters = { version: '', type: '', idc: '', location: '', hostname: '' }

/** The filters that are set, as `GET /api/v1/hosts` takes them. */
export type HostFilterQuery = { -readonly [K in keyof HostFilters]?: Exclude<HostFilters[K], ''> }

/** The filters as `GET /api/v1/hosts` takes them: trimmed, and left out when empty (the API refuses an empty filter). */
export function hostFilterQuery(filters: HostFilters): HostFilterQuery {
  const query: HostFilterQuery = {}
  if (filters.type !== '') query.type = filters.type
  for (const name of ['version', 'idc', 'location', 'hostname'] as const) {
    const value = filters[name].trim()
    if (value !== '') query[name] = value
  }
  return query
}
