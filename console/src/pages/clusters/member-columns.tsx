import type { MemberState } from '../../api/types'
import type { Column } from '../../components/data-table'
import { formatTime } from '../../components/format'
import { StateBadge } from '../../components/state-badge'

/** What a scheduler and a seed peer both show. */
interface Member {
  readonly host_name: string
  readonly ip: string
  readonly port: number
  readonly idc: string
  readonly location: string
  readonly state: MemberState
  readonly last_keepalive_at: string
}

/** The columns of the schedulers and seed peers tables: who, where, and whether it keeps alive. */
export function memberColumns<T extends Member>(): Column<T>[] {
  return [
    { header: 'Host name', cell: (row) => row.host_name },
    { header: 'IP', cell: (row) => `${row.ip}:${row.port}` },
    { header: 'State', cell: (row) => <StateBadge state={row.state} /> },
    { header: 'Last keepalive', cell: (row) => <time dateTime={row.last_keepalive_at}>{formatTime(row.last_keepalive_at)}</time> },
    { header: 'IDC', cell: (row) => row.idc },
    { header: 'Location', cell: (row) => row.location },
  ]
}
