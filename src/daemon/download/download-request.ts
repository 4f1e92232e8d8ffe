import { z } from 'zod'
import type { TokenBucket } from '../../common/token-bucket.js'
import { DamselflyError } from '../../protocol/damselfly-error.js'
import { parseDigest, formatDigest } from '../../protocol/digest.js'
import { validateFixedPieceLength } from '../../protocol/piece.js'
import type { Download } from '../../protocol/generated/damselfly/scheduler/v1/scheduler.js'
import { parseUrl } from '../../protocol/task-id.js'

/** What a client asks its daemon for; the same fields as Dragonfly's download request. */
export interface DownloadRequest {
  readonly url: string
  /** Sent to the origin on back-to-source, Authorization included. */
  readonly headers: Readonly<Record<string, string>>
  readonly tag?: string | undefined
  readonly application?: string | undefined
  /** Query keys ignored in the task id, on top of the daemon's configured list. */
  readonly filteredQueryParams: readonly string[]
  readonly pieceLengthBytes?: number | undefined
  /** 0..6 as in Dragonfly; see docs/glossary.md. */
  readonly priority: number
  /** Whole-content digest `<algorithm>:<hex>`; a mismatch fails the download and deletes the content. */
  readonly digest?: string | undefined
  readonly disableBackToSource: boolean
  /**
   * On whose behalf the download runs: this host's own clients (dfget, the registry mirror; the
   * default), or another host, as for a seed task the scheduler sent. The origin of a download
   * for another host is fetched only from addresses `seedPeer.sourcePolicy` allows. Never taken
   * from a request body.
   */
  readonly onBehalfOf?: 'this-host' | 'other-host' | undefined
  /**
   * The scheduler to register with first (`host:port`): for a seed task, the one that sent it, so
   * the peers waiting there hear of this download even when this host routes the task elsewhere.
   * Never taken from a request body.
   */
  readonly scheduler?: string | undefined
  /**
   * This request's own cap on received bytes, on top of the host-wide buckets (a manager's job
   * sets it). Applies only when this request starts the task's download: a request that joins a
   * download already running gets that download's pace. Never taken from a request body.
   */
  readonly rateLimiter?: TokenBucket | undefined
}

export const SUPPORTED_SCHEMES = ['http:', 'https:'] as const

/** RFC 9110's field-value characters, the ones the HTTP client will send: tab, visible ASCII, obs-text. */
const headerValue = z.string().regex(/^[\t\x20-\x7e\x80-\xff]*$/, 'header value must be one line without control characters')

const label = z.string().max(256).regex(/^[^\p{Cc}]*$/u, 'must not contain control characters')

/** The local API's request body; parsed once at the boundary. */
export const downloadRequestSchema = z.object({
  url: z.string().min(1).max(8192),
  headers: z.record(z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, 'invalid header name'), headerValue).default({}),
  tag: label.optional(),
  application: label.optional(),
  filteredQueryParams: z.array(z.string().min(1).max(256)).max(256).default([]),
  pieceLength: z.number().int().positive().optional(),
  priority: z.number().int().min(0).max(6).default(6),
  digest: z.string().optional(),
  disableBackToSource: z.boolean().default(false),
})

export type DownloadRequestBody = z.input<typeof downloadRequestSchema>

/** The key path of a schema issue on one printable line: a header name is the client's text. */
function issuePath(path: readonly PropertyKey[]): string {
  return path.map(String).join('.').replace(/\p{Cc}/gu, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`)
}

/** Validates an untrusted request body; throws INVALID_ARGUMENT or UNSUPPORTED_SCHEME naming the problem. */
export function parseDownloadRequest(body: unknown): DownloadRequest {
  const result = downloadRequestSchema.safeParse(body)
  if (!result.success) {
    const first = result.error.issues[0]
    throw new DamselflyError('INVALID_ARGUMENT', `invalid download request: ${issuePath(first?.path ?? [])}: ${first?.message ?? 'malformed'}`)
  }
  const value = result.data
  const url = parseUrl(value.url)
  if (!(SUPPORTED_SCHEMES as readonly string[]).includes(url.protocol)) {
    throw new DamselflyError('UNSUPPORTED_SCHEME', `unsupported URL scheme ${JSON.stringify(url.protocol)} (supported: ${SUPPORTED_SCHEMES.map((s) => s.slice(0, -1)).join(', ')})`)
  }
  if (url.username !== '' || url.password !== '') {
    throw new DamselflyError('INVALID_ARGUMENT', 'credentials in the URL are not accepted; pass them as a header')
  }
  return {
    url: url.href,
    headers: value.headers,
    tag: value.tag || undefined,
    application: value.application || undefined,
    filteredQueryParams: value.filteredQueryParams,
    pieceLengthBytes: value.pieceLength === undefined ? undefined : validateFixedPieceLength(value.pieceLength),
    priority: value.priority,
    digest: value.digest === undefined || value.digest === '' ? undefined : formatDigest(parseDigest(value.digest)),
    disableBackToSource: value.disableBackToSource,
  }
}

/**
 * The request a scheduler's Download message stands for (a seed task, a manager's download),
 * checked as a client's body is: the scheduler relays what some other party asked for. Throws
 * as {@link parseDownloadRequest}. `disable_back_to_source` is not carried: a seed, and a host
 * running a manager's job, fetch from the source when no peer has the task.
 */
export function parseSchedulerDownload(download: Download): DownloadRequest {
  return parseDownloadRequest({
    url: download.url,
    headers: download.headers,
    tag: download.tag,
    application: download.application,
    filteredQueryParams: download.filteredQueryParams,
    ...(download.pieceLength === 0 ? {} : { pieceLength: download.pieceLength }),
    priority: download.priority,
    digest: download.digest,
  })
}
