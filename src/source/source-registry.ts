import { DamselflyError, toDamselflyError } from '../protocol/damselfly-error.js'
import type { Source } from './source.js'

/** The sources of one process, found by URL scheme (`http`, `https`, ...). */
export class SourceRegistry {
  private readonly bySchemes = new Map<string, Source>()
  private readonly sources: Source[] = []

  constructor(sources: readonly Source[]) {
    for (const source of sources) {
      for (const scheme of source.schemes) {
        const key = scheme.toLowerCase()
        if (this.bySchemes.has(key)) {
          throw new DamselflyError('CONFIG_INVALID', `two sources claim the URL scheme "${key}"`)
        }
        this.bySchemes.set(key, source)
      }
      this.sources.push(source)
    }
  }

  forUrl(url: URL): Source {
    // URL.protocol is lowercase and ends with a colon.
    const source = this.bySchemes.get(url.protocol.slice(0, -1))
    if (source === undefined) {
      const supported = [...this.bySchemes.keys()].sort().join(', ')
      throw new DamselflyError('UNSUPPORTED_SCHEME', `unsupported URL scheme "${url.protocol}" (supported: ${supported})`)
    }
    return source
  }

  async close(): Promise<void> {
    const results = await Promise.allSettled(this.sources.map((source) => source.close()))
    const failed = results.find((result) => result.status === 'rejected')
    if (failed !== undefined) throw toDamselflyError(failed.reason)
  }
}
