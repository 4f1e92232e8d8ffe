import { createHash } from 'node:crypto'
import type { Dispatcher } from 'undici'
import type { Clock } from '../../common/clock.js'
import { VERSION } from '../../common/version.js'
import { mapHttpError } from '../../source/map-http-error.js'

const USER_AGENT = `damselfly/${VERSION}`

/**
 * Whether the registry lets a client read a blob, asked with a HEAD carrying the client's own
 * credentials, and remembered per credential for a short time. Content fetched for one client is
 * served from peers to another only when the registry accepts that other client too.
 */
export class BlobAccess {
  private readonly granted = new Map<string, number>()

  constructor(
    private readonly components: { dispatcher: Dispatcher; clock: Clock },
    private readonly init: { cacheTtlMs: number },
  ) {}

  async allowed(origin: string, path: string, authorization: string | undefined, signal: AbortSignal): Promise<boolean> {
    const key = createHash('sha256').update(`${authorization ?? ''}\n${origin}${path}`).digest('hex')
    const now = this.components.clock.nowMs()
    const until = this.granted.get(key)
    if (until !== undefined && until > now) return true
    let response: Dispatcher.ResponseData
    try {
      response = await this.components.dispatcher.request({
        origin,
        path,
        method: 'HEAD',
        headers: { 'user-agent': USER_AGENT, ...(authorization === undefined ? {} : { authorization }) },
        signal,
      })
    } catch (error) {
      throw mapHttpError(error, { phase: 'request', url: new URL(`${origin}${path}`), signal, headersTimeoutMs: 0, bodyIdleTimeoutMs: 0, connectTimeoutMs: 0 })
    }
    await response.body.dump()
    if (response.statusCode !== 200) return false
    if (this.granted.size > 10_000) this.granted.clear()
    this.granted.set(key, now + this.init.cacheTtlMs)
    return true
  }
}
