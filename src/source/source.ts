import type { Readable } from 'node:stream'

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

/** A response body whose byte count the source checks: a short or long body fails with SOURCE_TRUNCATED. */
export interface SourceResponse {
  readonly contentLengthBytes: number | undefined
  /** Read it to the end or destroy it; it honours the request's signal. */
  readonly body: Readable
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
