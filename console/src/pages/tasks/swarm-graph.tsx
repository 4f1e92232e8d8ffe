import { useMemo } from 'react'
import type { SwarmEdge, SwarmPeer, TaskSwarm } from '../../api/types'
import { formatBytes } from '../../components/format'
import { heaviest } from './heaviest'
import type { Point, SwarmLayout } from './swarm-layout'

/** The most edges drawn, the heaviest: more would only blacken the picture and slow each update. */
export const MAX_DRAWN_EDGES = 600
/** Peers are named on the graph up to this many; beyond, their names are in the tooltips and the table. */
const MAX_LABELLED_PEERS = 30
const NODE_RADIUS = 7
const RING_RADIUS = 11
const RING_LENGTH = 2 * Math.PI * RING_RADIUS
const ORIGIN_RADIUS = 16
const ORIGIN: Point = { x: 0, y: 0 }
const MARGIN = 40

/** The line from `from` to `to`, cut short by each end's radius, so an arrow ends at the node's ring. */
function segment(from: Point, to: Point, fromRadius: number, toRadius: number): { x1: number; y1: number; x2: number; y2: number } {
  const dx = to.x - from.x
  const dy = to.y - from.y
  const length = Math.hypot(dx, dy) || 1
  const round = (value: number): number => Math.round(value * 10) / 10
  return {
    x1: round(from.x + (dx * fromRadius) / length),
    y1: round(from.y + (dy * fromRadius) / length),
    x2: round(to.x - (dx * (toRadius + 2)) / length),
    y2: round(to.y - (dy * (toRadius + 2)) / length),
  }
}

/** What is drawn of a snapshot: the heaviest edges between laid-out peers, the origin's edges, and the width scale. */
export function drawnParts(swarm: TaskSwarm, layout: SwarmLayout): { edges: SwarmEdge[]; fromOrigin: SwarmPeer[]; widthOf: (bytes: number) => number } {
  const placed = swarm.edges.filter((edge) => layout.positions.has(edge.parent) && layout.positions.has(edge.child))
  const edges = heaviest(placed, (edge) => edge.bytes, MAX_DRAWN_EDGES)
  const fromOrigin = swarm.peers.filter((peer) => peer.bytes_from_origin > 0 && layout.positions.has(peer.id))
  let maxBytes = 1
  for (const edge of edges) maxBytes = Math.max(maxBytes, edge.bytes)
  for (const peer of fromOrigin) maxBytes = Math.max(maxBytes, peer.bytes_from_origin)
  // Square root: a tenth of the bytes still shows as a visible line, not a hair.
  const widthOf = (bytes: number): number => Math.round((1 + 6 * Math.sqrt(bytes / maxBytes)) * 10) / 10
  return { edges, fromOrigin, widthOf }
}

function PeerNode({ peer, at, totalPieces, labelled }: { readonly peer: SwarmPeer; readonly at: Point; readonly totalPieces: number; readonly labelled: boolean }) {
  const done = totalPieces === 0 ? 0 : Math.min(1, peer.finished_pieces / totalPieces)
  const seed = peer.type === 'seed'
  return (
    <g data-peer-id={peer.id} transform={`translate(${at.x} ${at.y})`} className={`swarm-peer state-${peer.state}${seed ? ' seed' : ''}`}>
      <title>{`${peer.hostname} (${seed ? 'seed peer' : 'peer'}): ${peer.state}, ${peer.finished_pieces}/${totalPieces} pieces`}</title>
      <circle r={RING_RADIUS} className="swarm-ring-track" />
      <circle r={RING_RADIUS} className="swarm-ring-done" strokeDasharray={`${Math.round(done * RING_LENGTH * 10) / 10} ${Math.ceil(RING_LENGTH)}`} transform="rotate(-90)" />
      <circle r={NODE_RADIUS} className="swarm-node" />
      {seed ? <text y={3.5} textAnchor="middle" className="swarm-seed-mark">S</text> : null}
      {labelled ? <text y={RING_RADIUS + 12} textAnchor="middle" className="swarm-label">{peer.hostname}</text> : null}
    </g>
  )
}

/**
 * The swarm as a graph: the origin in the middle, seeds around it, peers on rings outward; an
 * arrow from each parent to each child it fed, as wide as the bytes, and from the origin to each
 * peer that fetched from it. Each peer's ring fills with its pieces. One element per peer and per
 * drawn edge, never per piece.
 */
export function SwarmGraph({ swarm, layout }: { readonly swarm: TaskSwarm; readonly layout: SwarmLayout }) {
  const { edges, fromOrigin, widthOf } = useMemo(() => drawnParts(swarm, layout), [swarm, layout])
  const extent = layout.radius + MARGIN
  const labelled = swarm.peers.length <= MAX_LABELLED_PEERS
  const description = `${swarm.peers.length} peers; ${edges.length} of ${swarm.edges.length} peer-to-peer edges drawn; ${fromOrigin.length} peers fetched from the origin`
  return (
    <svg className="swarm-graph" viewBox={`${-extent} ${-extent} ${2 * extent} ${2 * extent}`} role="img" aria-label="Swarm graph">
      <title>Swarm graph</title>
      <desc>{description}</desc>
      <defs>
        <marker id="swarm-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="8" markerHeight="8" markerUnits="userSpaceOnUse" orient="auto">
          <path d="M 0 0 L 10 5 L 0 10 z" className="swarm-arrow" />
        </marker>
      </defs>
      <g className="swarm-edges">
        {fromOrigin.map((peer) => {
          const at = layout.positions.get(peer.id) as Point
          return (
            <line key={`origin->${peer.id}`} data-origin-edge={peer.id} {...segment(ORIGIN, at, ORIGIN_RADIUS, RING_RADIUS)} strokeWidth={widthOf(peer.bytes_from_origin)} className="swarm-edge origin" markerEnd="url(#swarm-arrow)">
              <title>{`origin → ${peer.hostname}: ${formatBytes(peer.bytes_from_origin)}`}</title>
            </line>
          )
        })}
        {edges.map((edge) => {
          const from = layout.positions.get(edge.parent) as Point
          const to = layout.positions.get(edge.child) as Point
          return (
            <line key={`${edge.parent}->${edge.child}`} data-edge={`${edge.parent}->${edge.child}`} {...segment(from, to, RING_RADIUS, RING_RADIUS)} strokeWidth={widthOf(edge.bytes)} className={edge.active ? 'swarm-edge active' : 'swarm-edge'} markerEnd="url(#swarm-arrow)">
              <title>{`${formatBytes(edge.bytes)}, ${edge.pieces} pieces${edge.active ? '' : ' (done)'}`}</title>
            </line>
          )
        })}
      </g>
      <g className="swarm-origin">
        <title>origin</title>
        <circle r={ORIGIN_RADIUS} />
        <text y={4} textAnchor="middle">origin</text>
      </g>
      {swarm.peers.map((peer) => {
        const at = layout.positions.get(peer.id)
        return at === undefined ? null : <PeerNode key={peer.id} peer={peer} at={at} totalPieces={swarm.total_pieces} labelled={labelled} />
      })}
    </svg>
  )
}
