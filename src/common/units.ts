import { DamselflyError } from '../protocol/damselfly-error.js'

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/
const DURATIONS = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d))+$/
const DURATION_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const

/** Parses `500ms`, `30s`, `5m`, `2h`, `7d` or a compound like `1h30m` into milliseconds. */
export function parseDurationMs(value: string): number {
  const text = value.trim()
  // Checked whole first: searching for parts alone retries from every digit of a long bad value.
  const parts = DURATIONS.test(text) ? text.match(/\d+(?:\.\d+)?(?:ms|s|m|h|d)/g) : null
  if (parts === null) {
    throw new DamselflyError('INVALID_ARGUMENT', `duration must look like 500ms, 30s, 5m, 2h or 1h30m, got ${JSON.stringify(value)}`)
  }
  let total = 0
  for (const part of parts) {
    const [, amount, unit] = DURATION.exec(part) ?? []
    total += Number(amount) * DURATION_MS[unit as keyof typeof DURATION_MS]
  }
  const ms = Math.round(total)
  if (!Number.isSafeInteger(ms)) {
    throw new DamselflyError('INVALID_ARGUMENT', `duration must be at most ${Number.MAX_SAFE_INTEGER}ms, got ${JSON.stringify(value)}`)
  }
  return ms
}

const SIZE = /^(\d+(?:\.\d+)?)\s*([kmgt]?i?b?)?$/i
const SIZE_FACTOR: Record<string, number> = {
  '': 1, b: 1,
  k: 1e3, kb: 1e3, ki: 1024, kib: 1024,
  m: 1e6, mb: 1e6, mi: 1024 ** 2, mib: 1024 ** 2,
  g: 1e9, gb: 1e9, gi: 1024 ** 3, gib: 1024 ** 3,
  t: 1e12, tb: 1e12, ti: 1024 ** 4, tib: 1024 ** 4,
}

/** Parses a byte size: `1048576`, `512KiB`, `100MB`, `10GiB` (SI and binary units). */
export function parseBytes(value: string | number): number {
  if (typeof value === 'number') {
    if (Number.isSafeInteger(value) && value >= 0) return value
    throw new DamselflyError('INVALID_ARGUMENT', `byte size must be a non-negative integer, got ${value}`)
  }
  const match = SIZE.exec(value.trim())
  const factor = match ? SIZE_FACTOR[(match[2] ?? '').toLowerCase()] : undefined
  if (!match || factor === undefined) {
    throw new DamselflyError('INVALID_ARGUMENT', `byte size must look like 1048576, 512KiB, 100MB or 10GiB, got ${JSON.stringify(value)}`)
  }
  const bytes = Math.round(Number(match[1]) * factor)
  if (!Number.isSafeInteger(bytes)) {
    throw new DamselflyError('INVALID_ARGUMENT', `byte size must be at most ${Number.MAX_SAFE_INTEGER} bytes, got ${JSON.stringify(value)}`)
  }
  return bytes
}

const BINARY_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'] as const

export function formatBytes(bytes: number): string {
  let value = bytes
  let unit = 0
  while (value >= 1024 && unit < BINARY_UNITS.length - 1) {
    value /= 1024
    unit++
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${BINARY_UNITS[unit]}`
}
