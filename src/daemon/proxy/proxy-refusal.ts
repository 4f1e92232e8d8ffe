import type { DamselflyError } from '../../protocol/damselfly-error.js'

/**
 * Why the proxy refuses a request, as logged and counted in
 * `damselfly_dfdaemon_proxy_refused_request_total{reason}`.
 */
export const PROXY_REFUSAL_REASONS = [
  /** The path is not under `/v2/`: the client was not pointed at this port as a registry mirror. */
  'not-a-registry-path',
  /** The path holds `.` or `..` segments, in any spelling (`%2e%2e`, `.%2E`, with `\` or `%2f` around them). */
  'dot-segment',
  /** `X-Dragonfly-Registry` or `ns` names no http(s) registry. */
  'bad-registry-header',
  /** A client not on loopback named a registry outside `proxy.registryMirror.allowedRegistries`. */
  'registry-not-allowed',
  /** A CONNECT whose target is not host:port. */
  'bad-connect-target',
  /** A CONNECT to a host neither intercepted nor allowed for this client. */
  'connect-not-allowed',
] as const

export type ProxyRefusalReason = (typeof PROXY_REFUSAL_REASONS)[number]

/** A request the proxy does not serve: the reason it is logged and counted under, and the error the client gets. */
export interface ProxyRefusal {
  readonly refused: ProxyRefusalReason
  readonly error: DamselflyError
}
