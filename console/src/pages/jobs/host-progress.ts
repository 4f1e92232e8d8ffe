import type { JobHostRow, JobHostState } from '../../api/types'

/** One host's part in a job, over every URL it fetches: one row of the live table. */
export interface HostProgress {
  readonly hostId: string
  readonly hostname: string
  readonly ip: string
  readonly state: JobHostState
  readonly completedBytes: number
  readonly contentLength: number
  readonly finishedPieces: number
  readonly totalPieces: number
  readonly bytesPerSecond: number
  /** The first failure's code and reason; '' when none failed. */
  readonly error: string
}

/** A host's state over its URLs: failed if one failed, done when all are, running while one runs. */
function stateOf(rows: readonly JobHostRow[]): JobHostState {
  if (rows.some((row) => row.state === 'FAILURE')) return 'FAILURE'
  if (rows.every((row) => row.state === 'SUCCESS')) return 'SUCCESS'
  if (rows.some((row) => row.state === 'RUNNING' || row.state === 'SUCCESS')) return 'RUNNING'
  return 'PENDING'
}

/** The live table's rows, one per host, by hostname then IP. */
export function hostProgressOf(rows: Iterable<JobHostRow>): HostProgress[] {
  const byHost = new Map<string, JobHostRow[]>()
  for (const row of rows) byHost.set(row.host_id, [...(byHost.get(row.host_id) ?? []), row])
  const sum = (list: readonly JobHostRow[], pick: (row: JobHostRow) => number): number => list.reduce((total, row) => total + pick(row), 0)
  return [...byHost.entries()].map(([hostId, list]) => {
    const failed = list.find((row) => row.state === 'FAILURE')
    const first = list[0]
    return {
      hostId,
      hostname: first?.hostname ?? '',
      ip: first?.ip ?? '',
      state: stateOf(list),
      completedBytes: sum(list, (row) => row.completed_bytes),
      contentLength: sum(list, (row) => row.content_length),
      finishedPieces: sum(list, (row) => row.finished_pieces),
      totalPieces: sum(list, (row) => row.total_pieces),
      // Only a download in flight has a rate; a finished one's last rate is history.
      bytesPerSecond: sum(list.filter((row) => row.state === 'RUNNING'), (row) => row.bytes_per_second),
      error: failed === undefined ? '' : [failed.code, failed.description].filter((part) => part !== '').join(': '),
    }
  }).sort((a, b) => a.hostname.localeCompare(b.hostname) || a.ip.localeCompare(b.ip) || a.hostId.localeCompare(b.hostId))
}

/**
 * Progress as whole percent, `NN%`: by bytes when the length is known, else by pieces. Rounded
 * down and held at 99% until the host is done, so 100% means done.
 */
export function progressPercent(progress: Pick<HostProgress, 'state' | 'completedBytes' | 'contentLength' | 'finishedPieces' | 'totalPieces'>): number {
  if (progress.state === 'SUCCESS') return 100
  const share = progress.contentLength > 0 ? progress.completedBytes / progress.contentLength : progress.totalPieces > 0 ? progress.finishedPieces / progress.totalPieces : 0
  return Math.max(0, Math.min(99, Math.floor(100 * share)))
}

export function progressText(progress: Parameters<typeof progressPercent>[0]): string {
  return `${progressPercent(progress)}%`
}
