import { createHash } from 'node:crypto'
import { LRUCache } from 'lru-cache'
import type { Clock } from '../../common/clock.js'
import { DamselflyError, toDamselflyError } from '../../protocol/damselfly-error.js'
import { ociBlobDigest } from '../../protocol/task-id.js'
import type { SourceRegistry } from '../../source/source-registry.js'
import type { DownloadRequest } from './download-request.js'

/** Grants remembered at most; beyond it the least recently used one is forgotten (about 100 bytes each). */
export const MAX_REMEMBERED_GRANTS = 10_000

/**
 * Whether a client may read an OCI blob, asked of its registry with the client's own credentials
 * (a HEAD of the blob), and remembered per credential and blob for `cacheTtlMs`, for the
 * {@link MAX_REMEMBERED_GRANTS} most recently used pairs. A blob's task id
 * is its digest, so without this anyone who knew a digest would get a private layer from the
 * cache or the swarm; with it, a blob reaches only clients its registry accepts.
 */
export class BlobAccess {
  /** Grants by credential and blob; undefined when `cacheTtlMs` is 0 and every request is asked. */
  private readonly granted: LRUCache<string, true> | undefined
  /** Questions on their way to the registry: clients that ask the same at once share one HEAD. */
  private readonly asking = new Map<string, Promise<void>>()

  constructor(
    private readonly components: { sources: SourceRegistry; clock: Clock },
    init: { cacheTtlMs: number },
  ) {
    this.granted = init.cacheTtlMs <= 0 ? undefined : new LRUCache<string, true>({
      max: MAX_REMEMBERED_GRANTS,
      ttl: init.cacheTtlMs,
      // Staleness by the injected clock, read on every look-up rather than cached for a millisecond.
      perf: { now: () => components.clock.nowMs() },
      ttlResolution: 0,
    })
  }

  /**
   * Resolves when `request` names no OCI blob or its registry lets the client read it; rejects with
   * the registry's answer otherwise. Requests with the same credentials for the same blob while a
   * question is on its way wait for its answer (asked under the first one's `signal`).
   */
  async check(request: DownloadRequest, signal: AbortSignal): Promise<void> {
    const url = new URL(request.url)
    const digest = ociBlobDigest(url)
    if (digest === undefined) return
    const authorization = Object.entries(request.headers).find(([name]) => name.toLowerCase() === 'authorization')?.[1] ?? ''
    const key = createHash('sha256').update(`${authorization}\n${url.origin}${url.pathname}`).digest('hex')
    if (this.granted?.get(key) === true) return
    let answer = this.asking.get(key)
    if (answer === undefined) {
      answer = this.ask(request, url, digest, key, signal).finally(() => this.asking.delete(key))
      this.asking.set(key, answer)
    }
    await answer
  }

  private async ask(request: DownloadRequest, url: URL, digest: string, key: string, signal: AbortSignal): Promise<void> {
    try {
      await this.components.sources.forUrl(url).stat({ url, headers: request.headers, signal })
    } catch (error) {
      const failure = toDamselflyError(error)
      const status = failure.details.sourceStatus
      const why = status === undefined ? `could not be asked (${failure.message})` : `refused these credentials for it (${status})`
      throw new DamselflyError(failure.code, `blob ${digest}: the registry at ${url.host} ${why}; nothing is served without its consent`, { cause: error, details: failure.details })
    }
    this.granted?.set(key, true)
  }
}
