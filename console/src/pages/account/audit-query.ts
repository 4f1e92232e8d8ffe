import { auditsQuery } from '@manager-api/audit-schemas'
import type { paths } from '../../api/schema'
import { problemWith } from '../../api/validate'

/** The audit filter form's fields, as typed: '' means "any". */
export interface AuditFilterFields {
  readonly actorType: string
  readonly actorName: string
  readonly object: string
  readonly state: string
  readonly method: string
  /** A `datetime-local` value (`2026-12-01T07:30`), in the reader's zone. */
  readonly since: string
  readonly until: string
}

export const NO_AUDIT_FILTER: AuditFilterFields = { actorType: '', actorName: '', object: '', state: '', method: '', since: '', until: '' }

/** A `datetime-local` value as RFC 3339 UTC; undefined for '' and for what is not a time. */
export function localTimeToRfc3339(local: string): string | undefined {
  if (local === '') return undefined
  // Without an offset, Date reads a date-time in the local zone: what the reader picked.
  const date = new Date(local)
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString()
}

/** The query string of `GET /api/v1/audits`, as the API's document declares it. */
export type AuditQuery = NonNullable<paths['/api/v1/audits']['get']['parameters']['query']>

/**
 * The query of `GET /api/v1/audits` for the filters and page, or the one line the API would
 * answer (its own schema) or that the times are not times.
 */
export function auditQuery(fields: AuditFilterFields, page: number, perPage: number): { query: AuditQuery } | { problem: string } {
  const since = localTimeToRfc3339(fields.since)
  const until = localTimeToRfc3339(fields.until)
  if (fields.since !== '' && since === undefined) return { problem: 'Since: not a date and time' }
  if (fields.until !== '' && until === undefined) return { problem: 'Until: not a date and time' }
  if (since !== undefined && until !== undefined && since >= until) return { problem: 'Since must be before Until' }
  const candidates: Record<string, string | undefined> = {
    page: String(page),
    per_page: String(perPage),
    actor_type: fields.actorType,
    actor_name: fields.actorName.trim(),
    object: fields.object,
    state: fields.state,
    method: fields.method,
    since,
    until,
  }
  const query: Record<string, string> = {}
  for (const [name, value] of Object.entries(candidates)) if (value !== undefined && value !== '') query[name] = value
  const problem = problemWith(auditsQuery, query, 'query')
  // The schema has just taken it, so its values are the API's own (methods, objects, states).
  return problem === undefined ? { query } : { problem }
}
