import type { IncomingMessage } from 'node:http'
import { DamselflyError } from '../../protocol/damselfly-error.js'

/** Where a mirror request goes, and the path to ask for there (containerd's `ns` removed). */
export interface Upstream {
  readonly origin: string
  readonly pathAndQuery: string
}

/**
 * Picks the registry a mirror request is for, as Dragonfly does: the `X-Dragonfly-Registry`
 * header, then containerd's `ns` query parameter, then the configured default. Only registries on
 * the allowed list (and the default) are served: the mirror is never an open proxy.
 */
export class RegistryUpstreams {
  private readonly defaultOrigin: URL
  private readonly allowed: ReadonlySet<string>

  constructor(init: { defaultRegistry: string; allowedRegistries: readonly string[] }) {
    this.defaultOrigin = new URL(init.defaultRegistry)
    this.allowed = new Set([this.defaultOrigin.host, ...init.allowedRegistries.map((entry) => entry.toLowerCase())])
  }

  /** Whether `host` (host or host:port) may be reached through this proxy. */
  allows(host: string): boolean {
    return this.allowed.has(host.toLowerCase()) || this.allowed.has(host.toLowerCase().replace(/:443$/, ''))
  }

  resolve(req: IncomingMessage): Upstream {
    const requested = new URL(req.url ?? '/', 'http://mirror.invalid')
    const ns = requested.searchParams.get('ns')
    requested.searchParams.delete('ns')
    const header = req.headers['x-dragonfly-registry']
    let origin: URL
    if (typeof header === 'string' && header !== '') {
      try {
        origin = new URL(header)
      } catch (cause) {
        throw new DamselflyError('INVALID_ARGUMENT', `X-Dragonfly-Registry is not a URL: ${JSON.stringify(header)}`, { cause })
      }
      if (origin.protocol !== 'http:' && origin.protocol !== 'https:') throw new DamselflyError('INVALID_ARGUMENT', 'X-Dragonfly-Registry must be an http or https URL')
    } else if (ns !== null && ns !== '') {
      // containerd names the registry host only; the default registry's scheme applies to it, https otherwise.
      origin = new URL(`${ns === this.defaultOrigin.host ? this.defaultOrigin.protocol : 'https:'}//${ns}`)
    } else {
      origin = this.defaultOrigin
    }
    if (!this.allowed.has(origin.host.toLowerCase())) {
      throw new DamselflyError('UPSTREAM_NOT_ALLOWED', `registry ${origin.host} is not in proxy.registryMirror.allowedRegistries`)
    }
    return { origin: origin.origin, pathAndQuery: `${requested.pathname}${requested.search}` }
  }
}
