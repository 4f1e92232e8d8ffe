import { expect, it } from 'vitest'
import type { ClusterOverviewBucket } from '../../api/types'
import { bucketBars, formatShare, minuteLabel, p2pShare } from './overview-figures'

function bucket(at: Date, fromPeers: number, fromOrigin: number): ClusterOverviewBucket {
  return { at: at.toISOString(), bytes_from_peers: fromPeers, bytes_from_origin: fromOrigin, tasks_started: 0, tasks_finished: 0, back_to_source: 0, bytes_from_seed_peers: 0, peers_started: 0, peers_finished: 0, peers_failed: 0 }
}

it('takes the P2P share of the bytes peers received, and has none when nothing moved', () => {
  expect(p2pShare(300, 100)).toBe(0.75)
  expect(p2pShare(0, 100)).toBe(0)
  expect(p2pShare(100, 0)).toBe(1)
  expect(p2pShare(0, 0)).toBeUndefined()
  expect(formatShare(p2pShare(995, 5))).toBe('99.5%')
  expect(formatShare(p2pShare(1, 2))).toBe('33.3%')
  expect(formatShare(undefined)).toBe('—')
})

it('draws one bar a minute, oldest first, peers at the base and origin on top', () => {
  const bars = bucketBars([bucket(new Date(2026, 11, 1, 7, 5), 1024, 10), bucket(new Date(2026, 11, 1, 7, 6), 0, 0), bucket(new Date(2026, 11, 1, 7, 7), 5, 2048)])
  expect(bars.map((bar) => bar.label)).toEqual(['07:05', '07:06', '07:07'])
  expect(bars[0]?.parts).toEqual([{ series: 'peer', value: 1024 }, { series: 'origin', value: 10 }])
  expect(bars[1]?.parts).toEqual([{ series: 'peer', value: 0 }, { series: 'origin', value: 0 }])
  expect(bars[2]?.parts).toEqual([{ series: 'peer', value: 5 }, { series: 'origin', value: 2048 }])
})

it('labels a minute by the reader\'s clock, and leaves a time it cannot read as it is', () => {
  expect(minuteLabel(new Date(2026, 0, 2, 23, 59).toISOString())).toBe('23:59')
  expect(minuteLabel('soon')).toBe('soon')
})
