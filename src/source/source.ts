/** A request to an origin. Headers are passed through unchanged (Authorization included). */
export interface SourceRequest {
  readonly url: URL
  readonly headers: Readonly<Record<string, string>>
  readonly signal: AbortSignal
}

/** What an origin says about the content before any byte is fetched. */
export interface SourceStat {
  /** Undefined when the origin does not announce a length (a chunked response). */
  readonly contentLengthBytes: number | undefined
  /** True when the origin advertised `Accept-Ranges: bytes` or answered a range probe with 206. */
  readonly rangeSupported: boolean
  /** Validators that tell whether stored pieces still belong to the same content. */
  readonly etag?: string | undefined
  readonly lastModified?: string | undefined
  readonly contentType?: string | undefined
}

/**
 * Takes a body's bytes as they arrive. A returned promise holds the next chunk back until it
 * settles; a throw or a rejection ends the body with that error. `chunk` is the sink's until it
 * returns, or until its promise settles; a sink copies what it keeps longer.
 */
export type ChunkSink = (chunk: Buffer) => Promise<void> | undefined

/**
 * A response body, read once by handing its chunks to a sink: no stream or promise between the
 * connection and the sink per chunk, so the bytes cost what the connection costs. Its byte count is
 * checked: a short or long body fails with SOURCE_TRUNCATED.
 */
export interface SourceBody {
  /**
   * Hands every chunk to `sink` as it arrives. Resolves once the whole body went in; rejects with
   * SOURCE_TRUNCATED, the transfer's own failure (SOURCE_TIMEOUT, SOURCE_UNREACHABLE, ...),
   * CANCELLED when the request's signal fires, or what `sink` threw. Call it once.
   */
  pipeTo(sink: ChunkSink): Promise<void>
  /** Gives up a body that will not be read, closing its transfer. Safe to repeat. */
  discard(): void
}

export interface SourceResponse {
  readonly contentLengthBytes: number | undefined
  /** Read it with `pipeTo` or `discard` it; it honours the request's signal. */
  readonly body: SourceBody
}

export interface ByteRange {
  readonly offset: number
  readonly length: number
}

/**
 * A back-to-source client for one or more URL schemes. Every failure is a DamselflyError:
 * SOURCE_STATUS (with `details.sourceStatus`), SOURCE_UNREACHABLE, SOURCE_TIMEOUT,
 * SOURCE_TRUNCATED, SOURCE_RANGE_UNSUPPORTED, CANCELLED, or SOURCE_NOT_ALLOWED from a source
 * bound by an address policy. All calls are safe to repeat.
 */
export interface Source {
  readonly schemes: readonly string[]
  stat(request: SourceRequest): Promise<SourceStat>
  /** Exactly the bytes `[offset, offset + length)`; SOURCE_RANGE_UNSUPPORTED when the origin ignores Range. */
  fetchRange(request: SourceRequest, range: ByteRange): Promise<SourceResponse>
  /** The whole content, for origins without a length or without range support. */
  fetch(request: SourceRequest): Promise<SourceResponse>
  close(): Promise<void>
}
