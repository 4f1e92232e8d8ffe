import type { IncomingHttpHeaders } from 'node:http'

/**
 * Never forwarded from a caller: hop-by-hop headers belong to the caller's own connection,
 * `host` and `range` are set by the source itself, and undici refuses `expect`.
 */
const DROPPED_HEADERS = new Set([
  'connection', 'keep-alive', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'host', 'range', 'expect',
])

/** The caller's headers as an origin may see them, lowercased, with a default User-Agent. */
export function originHeaders(
  callerHeaders: Readonly<Record<string, string>>,
  defaults: { userAgent: string },
): Record<string, string> {
  // A Connection header may name further hop-by-hop headers (RFC 9110 §7.6.1).
  const connectionListed = new Set<string>()
  for (const [name, value] of Object.entries(callerHeaders)) {
    if (name.toLowerCase() !== 'connection') continue
    for (const token of value.split(',')) connectionListed.add(token.trim().toLowerCase())
  }
  const headers: Record<string, string> = {}
  for (const [name, value] of Object.entries(callerHeaders)) {
    const lower = name.toLowerCase()
    if (DROPPED_HEADERS.has(lower) || lower.startsWith('proxy-') || connectionListed.has(lower)) continue
    headers[lower] = value
  }
  headers['user-agent'] ??= defaults.userAgent
  return headers
}

export function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name]
  return Array.isArray(value) ? value[0] : value
}

const DIGITS = /^\d+$/

/** A Content-Length value as a byte count; undefined when absent or not a plain integer. */
export function parseContentLength(value: string | undefined): number | undefined {
  if (value === undefined || !DIGITS.test(value.trim())) return undefined
  const bytes = Number(value.trim())
  return Number.isSafeInteger(bytes) ? bytes : undefined
}

export interface ContentRange {
  readonly firstByte: number
  readonly lastByte: number
  /** Undefined when the origin answered `*` for the complete length. */
  readonly completeLengthBytes: number | undefined
}

const SATISFIED_RANGE = /^bytes\s+(\d+)-(\d+)\/(\d+|\*)$/i
const UNSATISFIED_RANGE = /^bytes\s+\*\/(\d+)$/i

/** Parses `bytes 0-99/1000` or `bytes 0-99/*`; undefined for anything else. */
export function parseContentRange(value: string | undefined): ContentRange | undefined {
  const match = value === undefined ? null : SATISFIED_RANGE.exec(value.trim())
  if (match === null) return undefined
  const firstByte = Number(match[1])
  const lastByte = Number(match[2])
  const complete = match[3] === '*' ? undefined : Number(match[3])
  if (!Number.isSafeInteger(firstByte) || !Number.isSafeInteger(lastByte) || lastByte < firstByte) return undefined
  if (complete !== undefined && (!Number.isSafeInteger(complete) || lastByte >= complete)) return undefined
  return { firstByte, lastByte, completeLengthBytes: complete }
}

/** The complete length from a 416 answer's `bytes *\/1000`; undefined for anything else. */
export function parseUnsatisfiedRange(value: string | undefined): number | undefined {
  const match = value === undefined ? null : UNSATISFIED_RANGE.exec(value.trim())
  if (match === null) return undefined
  const complete = Number(match[1])
  return Number.isSafeInteger(complete) ? complete : undefined
}

/** Origin and path only: query strings carry signatures and userinfo carries passwords. */
export function printableUrl(url: URL): string {
  return `${url.origin}${url.pathname}`
}
