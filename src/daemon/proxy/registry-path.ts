import { DamselflyError } from '../../protocol/damselfly-error.js'
import type { ProxyRefusal } from './proxy-refusal.js'

/**
 * Checks that a mirror request's target (origin-form: path and query) stays under `/v2/` as
 * the registry will read it: percent-decoded once, with `\` taken as `/` as some servers do. A
 * `.` or `..` segment in any spelling is refused, so `GET /v2/../debug/vars` or
 * `/v2/%2e%2e/debug/vars` never reaches the registry (a URL parser would make either of them
 * `/debug/vars`). Returns undefined when the path is fine.
 */
export function checkRegistryPath(target: string): ProxyRefusal | undefined {
  const query = target.indexOf('?')
  const raw = query === -1 ? target : target.slice(0, query)
  if (!raw.startsWith('/v2/') && raw !== '/v2') {
    return { refused: 'not-a-registry-path', error: new DamselflyError('INVALID_ARGUMENT', `not a registry request: ${printable(raw)} (point clients at this port as a registry mirror)`) }
  }
  let decoded: string
  try {
    decoded = decodeURIComponent(raw)
  } catch (cause) {
    return { refused: 'dot-segment', error: new DamselflyError('INVALID_ARGUMENT', `the path ${printable(raw)} has a malformed percent-encoding`, { cause }) }
  }
  const segments = decoded.split(/[/\\]/)
  if (segments.some((segment) => segment === '.' || segment === '..')) {
    return { refused: 'dot-segment', error: new DamselflyError('INVALID_ARGUMENT', `the path ${printable(raw)} has dot-segments; a registry path stays under /v2/`) }
  }
  return undefined
}

/** At most 200 characters of a client's path, for a one-line message. */
function printable(path: string): string {
  return JSON.stringify(path.length > 200 ? `${path.slice(0, 200)}...` : path)
}
