/** Bytes as people read them: `1.5 GiB`. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB']
  let value = bytes
  let unit = 0
  while (Math.abs(value) >= 1024 && unit < units.length - 1) {
    value /= 1024
    unit++
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(value < 10 ? 2 : value < 100 ? 1 : 0)} ${units[unit]}`
}

/** A rate in bytes per second: `12.5 MiB/s`. */
export function formatRate(bytesPerSecond: number): string {
  return `${formatBytes(Math.round(bytesPerSecond))}/s`
}

/** An RFC 3339 time in the reader's zone, to the second; '' for none. */
export function formatTime(rfc3339: string | null | undefined): string {
  if (rfc3339 === null || rfc3339 === undefined || rfc3339 === '') return ''
  const date = new Date(rfc3339)
  return Number.isNaN(date.getTime()) ? rfc3339 : date.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' })
}

/** A share as a percentage with one decimal: `99.5%`. */
export function formatPercent(part: number, whole: number): string {
  return whole === 0 ? '0%' : `${((100 * part) / whole).toFixed(1)}%`
}
