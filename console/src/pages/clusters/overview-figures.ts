import type { ClusterOverviewBucket } from '../../api/types'
import type { Bar } from '../../components/bar-chart'

/**
 * The P2P share: of the bytes peers received, the part a parent served rather than the origin,
 * from 0 to 1; undefined when nothing moved (no traffic is not 0% P2P).
 */
export function p2pShare(bytesFromPeers: number, bytesFromOrigin: number): number | undefined {
  const total = bytesFromPeers + bytesFromOrigin
  return total <= 0 ? undefined : bytesFromPeers / total
}

/** A share from 0 to 1 as a percentage with one decimal, '—' when there is none. */
export function formatShare(share: number | undefined): string {
  return share === undefined ? '—' : `${(share * 100).toFixed(1)}%`
}

function twoDigits(value: number): string {
  return String(value).padStart(2, '0')
}

/** A minute's start as the reader's clock shows it: `07:05`. */
export function minuteLabel(at: string): string {
  const date = new Date(at)
  return Number.isNaN(date.getTime()) ? at : `${twoDigits(date.getHours())}:${twoDigits(date.getMinutes())}`
}

/** One stacked bar a minute, oldest first: bytes from peers at the base, from the origin above. */
export function bucketBars(buckets: readonly ClusterOverviewBucket[]): Bar[] {
  return buckets.map((bucket) => ({
    label: minuteLabel(bucket.at),
    parts: [
      { series: 'peer', value: bucket.bytes_from_peers },
      { series: 'origin', value: bucket.bytes_from_origin },
    ],
  }))
}
