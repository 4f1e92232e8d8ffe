import type { IncomingMessage } from 'node:http'
import { DamselflyError } from '../../protocol/damselfly-error.js'
import { canonicalAddress } from '../../source/address-policy.js'
import type { ProxyRefusal } from './proxy-refusal.js'

/** Where a mirror request goes, and the path to ask for there (containerd's `ns` removed). */
export interface Upstream {
  readonly origin: string
  readonly pathAndQuery: string
}

export interface RegistryUpstreamsInit {
  readonly defaultRegistry: string
  readonly allowedRegistries: readonly string[]
  /**
   * Whether a client on this host's loopback (its own container runtime) may name any registry,
   * as Dragonfly's daemon lets it: it could reach that registry itself anyway. Clients from
   * elsewhere are always held to the allowed list.
   */
  readonly anyRegistryFromLoopback: boolean
}

/** Whether a peer address is this host's loopback: 127.0.0.0/8, ::1, or either as an IPv4-mapped IPv6 address. */
export function isLoopbackAddress(address: string | undefined): boolean {
  const canonical = canonicalAddress(address ?? '')
  if (canonical === undefined) return false
  return canonical.family === 'ipv4' ? canonical.address.startsWith('127.') : canonical.address === '::1'
}

/**
 * Picks the registry a mirror request is for, as Dragonfly does: the `X-Dragonfly-Registry`
 * header, then containerd's `ns` query parameter, then the configured default. A client on this
 * host's loopback may name any registry (unless `anyRegistryFromLoopback` is off); any other
 * client only the default and the allowed list: the mirror is never an open proxy.
 */
export class RegistryUpstreams {
  private readonly defaultOrigin: URL
  private readonly allowed: ReadonlySet<string>

  constructor(private readonly init: RegistryUpstreamsInit) {
    this.defaultOrigin = new URL(init.defaultRegistry)
    this.allowed = new Set([this.defaultOrigin.host, ...init.allowedRegistries.map((entry) => entry.toLowerCase())])
  }

  /** Whether `host` (host or host:port) may be reached through this proxy by a client at `clientAddress`. */
  allows(host: string, clientAddress: string | undefined): boolean {
    if (this.init.anyRegistryFromLoopback && isLoopbackAddress(clientAddress)) return true
    return this.allowed.has(host.toLowerCase()) || this.allowed.has(host.toLowerCase().replace(/:443$/, ''))
  }

  /** The registry and path a mirror request goes to, or why it is refused. The path must have passed `checkRegistryPath`. */
  resolve(req: IncomingMessage): Upstream | ProxyRefusal {
    const target = req.url ?? '/'
    const query = target.indexOf('?')
    const path = query === -1 ? target : target.slice(0, query)
    const params = new URLSearchParams(query === -1 ? '' : target.slice(query + 1))
    const ns = params.get('ns')
    params.delete('ns')
    const header = req.headers['x-dragonfly-registry']
    let origin: URL
    if (typeof header === 'string' && header !== '') {
      try {
        origin = new URL(header)
      } catch (cause) {
        return { refused: 'bad-registry-header', error: new DamselflyError('INVALID_ARGUMENT', `X-Dragonfly-Registry is not a URL: ${JSON.stringify(header)}`, { cause }) }
      }
      if (origin.protocol !== 'http:' && origin.protocol !== 'https:') {
        return { refused: 'bad-registry-header', error: new DamselflyError('INVALID_ARGUMENT', 'X-Dragonfly-Registry must be an http or https URL') }
      }
    } else if (ns !== null && ns !== '') {
      // containerd names the registry host only; the default registry's scheme applies to it, https otherwise.
      try {
        origin = new URL(`${ns === this.defaultOrigin.host ? this.defaultOrigin.protocol : 'https:'}//${ns}`)
      } catch (cause) {
        return { refused: 'bad-registry-header', error: new DamselflyError('INVALID_ARGUMENT', `ns is not a registry host: ${JSON.stringify(ns)}`, { cause }) }
      }
    } else {
      origin = this.defaultOrigin
    }
    if (!this.allows(origin.host, req.socket.remoteAddress)) {
      return {
        refused: 'registry-not-allowed',
        error: new DamselflyError('UPSTREAM_NOT_ALLOWED', `registry ${origin.host} is not in proxy.registryMirror.allowedRegistries`),
      }
    }
    const search = params.toString()
    return { origin: origin.origin, pathAndQuery: search === '' ? path : `${path}?${search}` }
  }
}
