import { useParams } from 'react-router'
import { api } from '../../api/client'
import type { ClusterOverview } from '../../api/types'
import { useResource } from '../../api/use-resource'
import { BarChart } from '../../components/bar-chart'
import { DataTable } from '../../components/data-table'
import { ErrorLine } from '../../components/error-line'
import { formatBytes } from '../../components/format'
import { bucketBars, formatShare, p2pShare } from './overview-figures'
import { StatTile } from './stat-tile'

const REFRESH_MS = 10_000

/** Whether every scheduler asked answered: the figures are partial otherwise. */
function SchedulersLine({ schedulers }: { readonly schedulers: ClusterOverview['schedulers'] }) {
  if (schedulers.asked === 0) return <p className="notice">No active scheduler in this cluster: there is no traffic to show.</p>
  const text = `${schedulers.answered} of ${schedulers.asked} ${schedulers.asked === 1 ? 'scheduler' : 'schedulers'} answered.`
  return schedulers.answered < schedulers.asked
    ? <p className="notice">{text} The figures leave out the others.</p>
    : <p className="hint">{text}</p>
}

/** The P2P share, large: the figure that says whether P2P works. */
function ShareTile({ totals }: { readonly totals: ClusterOverview['totals'] }) {
  const share = p2pShare(totals.bytes_from_peers, totals.bytes_from_origin)
  return (
    <StatTile
      className="p2p-share"
      label="P2P share"
      value={formatShare(share)}
      detail={share === undefined
        ? 'no bytes moved in the last hour'
        : <><meter min={0} max={1} value={share} aria-label="P2P share">{formatShare(share)}</meter> of the bytes came from peers, not the origin</>}
    />
  )
}

/** The last hour of a cluster's traffic, summed over its schedulers; refreshed every 10 s. */
export function ClusterOverviewTab() {
  const { id = '' } = useParams()
  const overview = useResource((signal) => api.get('/api/v1/clusters/{id}/overview', { path: { id }, signal }), id, { refreshMs: REFRESH_MS })
  const data = overview.data
  return (
    <div>
      <ErrorLine message={overview.error} />
      {data === undefined ? (overview.loading ? <p className="loading">loading…</p> : null) : (
        <>
          <div className="stats">
            <ShareTile totals={data.totals} />
            <StatTile label="From peers" value={formatBytes(data.totals.bytes_from_peers)} detail={`${formatBytes(data.totals.bytes_from_seed_peers)} of it from seed peers`} />
            <StatTile label="From origin" value={formatBytes(data.totals.bytes_from_origin)} />
            <StatTile label="Tasks started" value={String(data.totals.tasks_started)} />
            <StatTile label="Tasks finished" value={String(data.totals.tasks_finished)} />
            <StatTile label="Back to source" value={String(data.totals.back_to_source)} detail={`${data.totals.peers_failed} ${data.totals.peers_failed === 1 ? 'peer' : 'peers'} failed`} />
          </div>
          <SchedulersLine schedulers={data.schedulers} />
          <h2>Bytes per minute, last hour</h2>
          <BarChart title="Bytes per minute, last hour" bars={bucketBars(data.buckets)} format={formatBytes} />
          <p className="legend">
            <span><span className="swatch peer" aria-hidden="true" />from peers</span>
            <span><span className="swatch origin" aria-hidden="true" />from origin</span>
          </p>
          <h2>Back-to-source reasons</h2>
          <DataTable
            caption="Back-to-source reasons"
            rows={data.totals.back_to_source_reasons}
            rowKey={(row) => row.reason}
            empty="no peer went back to source"
            columns={[
              { header: 'Reason', cell: (row) => <code>{row.reason}</code> },
              { header: 'Count', cell: (row) => row.count, numeric: true },
            ]}
          />
        </>
      )}
    </div>
  )
}
