import { Readable } from 'node:stream'
import type { TokenBucket } from './token-bucket.js'

/** Passes chunks through at the buckets' pace; an unlimited bucket costs nothing. */
export function throttle(source: Readable, buckets: readonly TokenBucket[], signal: AbortSignal): Readable {
  const limited = buckets.filter((bucket) => bucket.rateBytesPerSecond > 0)
  if (limited.length === 0) return source
  async function* paced(): AsyncGenerator<Buffer> {
    for await (const chunk of source as AsyncIterable<Buffer>) {
      for (const bucket of limited) await bucket.take(chunk.length, signal)
      yield chunk
    }
  }
  return Readable.from(paced(), { objectMode: false })
}
