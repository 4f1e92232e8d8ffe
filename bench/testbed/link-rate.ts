/** Link rates as tc writes them, and the lower bound they put on a distribution's time. */

const RATE = /^(\d+(?:\.\d+)?)(bit|kbit|mbit|gbit|bps|kbps|mbps|gbps)$/i
const BYTES_PER_SECOND_PER_UNIT: Readonly<Record<string, number>> = { bit: 1 / 8, kbit: 1e3 / 8, mbit: 1e6 / 8, gbit: 1e9 / 8, bps: 1, kbps: 1e3, mbps: 1e6, gbps: 1e9 }

/** A tc rate such as `100mbit`, `1gbit`, `500kbit` or `12mbps` (tc's mbps is megabytes) in bytes per second. */
export function rateBytesPerSecond(rate: string): number {
  const match = RATE.exec(rate.trim())
  const factor = BYTES_PER_SECOND_PER_UNIT[(match?.[2] ?? '').toLowerCase()]
  if (match === null || factor === undefined) throw new Error(`unrecognised tc rate ${JSON.stringify(rate)}: write it like 100mbit, 1gbit or 12mbps`)
  return Number(match[1]) * factor
}

/** The terms of the lower bound on the time until the last of N hosts holds the whole file. */
export interface LowerBound {
  /** The largest term: no schedule, however clever, finishes sooner. */
  readonly boundMs: number
  /** S / u_origin: every byte leaves the origin at least once. */
  readonly originUploadMs: number
  /** S / d_host: every host receives every byte. */
  readonly hostDownloadMs: number
  /** N·S / (u_origin + N·u_host): N copies, sent by every uplink together. */
  readonly aggregateUploadMs: number
}

/**
 * `max(S/u_origin, S/d_host, N·S/(u_origin + N·u_host))` for nominal link rates. tc counts
 * Ethernet frames, so even a perfect schedule moves payload a few percent slower than this.
 */
export function lowerBound(init: { hosts: number; sizeBytes: number; hostBytesPerSecond: number; originBytesPerSecond: number }): LowerBound {
  const { hosts, sizeBytes, hostBytesPerSecond, originBytesPerSecond } = init
  const originUploadMs = (sizeBytes / originBytesPerSecond) * 1000
  const hostDownloadMs = (sizeBytes / hostBytesPerSecond) * 1000
  const aggregateUploadMs = ((hosts * sizeBytes) / (originBytesPerSecond + hosts * hostBytesPerSecond)) * 1000
  return { boundMs: Math.max(originUploadMs, hostDownloadMs, aggregateUploadMs), originUploadMs, hostDownloadMs, aggregateUploadMs }
}
