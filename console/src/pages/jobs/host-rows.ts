import type { JobHostRow } from '../../api/types'

/** A job's host rows by host and URL: what the live table holds. */
export type HostRows = ReadonlyMap<string, JobHostRow>

export const NO_ROWS: HostRows = new Map()

function keyOf(row: JobHostRow): string {
  return `${row.host_id}\n${row.url}`
}

/**
 * The table after `incoming` rows (an `event: host`, or a polled page): each replaces the row of
 * its host and URL unless that one is newer, since a poll may answer after a later event.
 */
export function mergeHostRows(rows: HostRows, incoming: readonly JobHostRow[]): HostRows {
  if (incoming.length === 0) return rows
  const merged = new Map(rows)
  for (const row of incoming) {
    const held = merged.get(keyOf(row))
    if (held === undefined || Date.parse(held.updated_at) <= Date.parse(row.updated_at)) merged.set(keyOf(row), row)
  }
  return merged
}
