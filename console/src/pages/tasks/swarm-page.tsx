import { useMemo, useState } from 'react'
import { Link, useParams, useSearchParams } from 'react-router'
import { api } from '../../api/client'
import type { SwarmPeer, TaskSwarm } from '../../api/types'
import { useResource } from '../../api/use-resource'
import { DataTable } from '../../components/data-table'
import { ErrorLine } from '../../components/error-line'
import { formatBytes, formatRate, formatTime } from '../../components/format'
import { PageHeader } from '../../components/layout'
import { StateBadge } from '../../components/state-badge'
import { SwarmGraph } from './swarm-graph'
import { layoutSwarm, type SwarmLayout } from './swarm-layout'
import { formatShare, swarmShares } from './swarm-shares'

/** The contract's pace: one request a second per open view, none while the tab is hidden. */
const SWARM_REFRESH_MS = 1000

/** Seeds first, then by host name: the table keeps its order from one poll to the next. */
function byTypeThenHost(a: SwarmPeer, b: SwarmPeer): number {
  if (a.type !== b.type) return a.type === 'seed' ? -1 : 1
  return a.hostname < b.hostname ? -1 : a.hostname > b.hostname ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0
}

function Stat({ label, value }: { readonly label: string; readonly value: string }) {
  return (
    <div className="stat">
      <div className="value">{value}</div>
      <div className="label">{label}</div>
    </div>
  )
}

/**
 * A task's swarm, live: who feeds whom (the graph), where the bytes came from (the tiles) and each
 * peer's progress (the table), read from the scheduler that holds the task once a second.
 */
export function SwarmPage() {
  const { taskId = '' } = useParams()
  const [search] = useSearchParams()
  const clusterId = search.get('cluster_id') ?? ''
  const resource = useResource(
    (signal) => api.get('/api/v1/tasks/{task_id}/swarm', { path: { task_id: taskId }, ...(clusterId === '' ? {} : { query: { cluster_id: clusterId } }), signal }),
    `${taskId}?${clusterId}`,
    { refreshMs: SWARM_REFRESH_MS },
  )
  const swarm = resource.data
  // The layout follows the snapshots, each placed from the one before, so no node moves between polls.
  const [laidOut, setLaidOut] = useState<{ swarm: TaskSwarm; layout: SwarmLayout } | undefined>(undefined)
  if (swarm !== undefined && laidOut?.swarm !== swarm) {
    const previous = laidOut?.swarm.task_id === swarm.task_id ? laidOut.layout : undefined
    setLaidOut({ swarm, layout: layoutSwarm(swarm.peers, swarm.edges, previous) })
  }
  const peers = useMemo(() => (swarm === undefined ? undefined : [...swarm.peers].sort(byTypeThenHost)), [swarm])
  const shares = swarm === undefined ? undefined : swarmShares(swarm.totals)

  return (
    <>
      <PageHeader title="Swarm">
        <Link to="/tasks">Tasks</Link>
      </PageHeader>
      <p className="swarm-task">
        Task <code>{taskId}</code>
        {swarm === undefined ? null : (
          <>
            {' '}in cluster {swarm.cluster_id}, held by scheduler {swarm.scheduler.host_name} ({swarm.scheduler.ip}) · {formatBytes(swarm.content_length)} in {swarm.total_pieces} pieces · <span className="swarm-url">{swarm.url}</span> · as of {formatTime(swarm.updated_at)}
          </>
        )}
      </p>
      {resource.error === undefined ? null : swarm === undefined
        ? <ErrorLine message={resource.error} />
        : <p className="notice" role="status">Refresh failed ({resource.error}); showing the snapshot of {formatTime(swarm.updated_at)}.</p>}
      {swarm?.truncated === true ? <p className="notice">The scheduler holds more peers or edges than it sent: the heaviest are shown.</p> : null}
      {shares === undefined ? null : (
        <div className="stats">
          <Stat label="From peers" value={formatBytes(shares.fromPeersBytes)} />
          <Stat label="From origin" value={formatBytes(shares.fromOriginBytes)} />
          <Stat label="Seed share" value={formatShare(shares.seedShare)} />
          <Stat label="P2P share" value={formatShare(shares.p2pShare)} />
        </div>
      )}
      {swarm !== undefined && laidOut?.swarm === swarm ? (
        <figure className="swarm-figure">
          <SwarmGraph swarm={swarm} layout={laidOut.layout} />
          <figcaption className="legend">
            <span><span className="swatch origin" />from the origin</span>
            <span><span className="swatch peer" />from a peer (arrow: parent to child; width: bytes)</span>
            <span><span className="swatch seed" />seed peer (S)</span>
            <span>ring: pieces done</span>
          </figcaption>
        </figure>
      ) : null}
      {resource.loading && resource.error === undefined ? <p className="loading">loading…</p> : null}
      {peers === undefined ? null : (
        <DataTable
          caption="Peers"
          rows={peers}
          rowKey={(peer) => peer.id}
          empty="No peer yet."
          columns={[
            { header: 'Hostname', cell: (peer) => peer.hostname },
            { header: 'Type', cell: (peer) => peer.type },
            { header: 'State', cell: (peer) => <StateBadge state={peer.state} /> },
            { header: 'Pieces', cell: (peer) => `${peer.finished_pieces}/${swarm?.total_pieces ?? 0}`, numeric: true },
            { header: 'Rate', cell: (peer) => formatRate(peer.rate_bytes_per_second), numeric: true },
            { header: 'From peers', cell: (peer) => formatBytes(peer.bytes_from_peers), numeric: true },
            { header: 'From origin', cell: (peer) => formatBytes(peer.bytes_from_origin), numeric: true },
            { header: 'Back-to-source reason', cell: (peer) => peer.back_to_source_reason ?? '' },
          ]}
        />
      )}
    </>
  )
}
