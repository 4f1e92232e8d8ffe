import { createHash } from 'node:crypto'
import { DamselflyError } from './damselfly-error.js'
import type { TaskId } from './ids.js'

/**
 * Query parameters that change between requests for the same content (signatures, expiry dates,
 * containerd's `ns`), so they never take part in a task id.
 */
export const DEFAULT_FILTERED_QUERY_PARAMS: readonly string[] = [
  // S3
  'X-Amz-Algorithm', 'X-Amz-Credential', 'X-Amz-Date', 'X-Amz-Expires', 'X-Amz-SignedHeaders',
  'X-Amz-Signature', 'X-Amz-Security-Token', 'X-Amz-User-Agent',
  // GCS
  'X-Goog-Algorithm', 'X-Goog-Credential', 'X-Goog-Date', 'X-Goog-Expires', 'X-Goog-SignedHeaders',
  'X-Goog-Signature',
  // OSS
  'OSSAccessKeyId', 'Expires', 'Signature', 'SecurityToken',
  // OBS
  'AccessKeyId', 'X-Obs-Date', 'X-Obs-Security-Token',
  // COS
  'q-sign-algorithm', 'q-ak', 'q-sign-time', 'q-key-time', 'q-header-list', 'q-url-param-list',
  'q-signature', 'x-cos-security-token',
  // containerd's mirror requests
  'ns',
]

export interface TaskIdInput {
  readonly url: string
  readonly tag?: string | undefined
  readonly application?: string | undefined
  /** Set only when the request fixes the piece length; it then names a different task. */
  readonly pieceLengthBytes?: number | undefined
  /** Query keys left out of the id; defaults to {@link DEFAULT_FILTERED_QUERY_PARAMS}. */
  readonly filteredQueryParams?: readonly string[] | undefined
}

const OCI_BLOB_PATH = /^\/v2\/(?:[a-z0-9]+(?:[._-][a-z0-9]+)*\/)*[a-z0-9]+(?:[._-][a-z0-9]+)*\/blobs\/(sha256:[a-f0-9]{64})$/

/** The blob digest when `url` names an OCI distribution blob, such as `/v2/library/alpine/blobs/sha256:<hex>`. */
export function ociBlobDigest(url: URL): string | undefined {
  return OCI_BLOB_PATH.exec(url.pathname)?.[1]
}

/** Parses an absolute URL, or throws INVALID_ARGUMENT naming the problem. */
export function parseUrl(value: string): URL {
  try {
    return new URL(value)
  } catch (cause) {
    throw new DamselflyError('INVALID_ARGUMENT', `malformed URL: ${JSON.stringify(value)}`, { cause })
  }
}

function queryKey(part: string): string {
  const raw = part.split('=', 1)[0] ?? ''
  try {
    return decodeURIComponent(raw.replace(/\+/g, ' '))
  } catch {
    return raw
  }
}

/**
 * The URL with the filtered query parameters and the fragment removed. The other parameters keep
 * their order and their exact encoding, so filtering never changes what remains.
 */
export function filterUrl(url: URL, filteredQueryParams: readonly string[]): string {
  const filtered = new URL(url.href)
  filtered.hash = ''
  const drop = new Set(filteredQueryParams)
  const kept = filtered.search.slice(1).split('&').filter((part) => part !== '' && !drop.has(queryKey(part)))
  filtered.search = kept.length === 0 ? '' : `?${kept.join('&')}`
  return filtered.href
}

/**
 * The task id: lowercase hex sha256 over the identity of the content (the filtered URL, or the
 * blob digest for an OCI blob, so one layer is one task whatever registry or repository serves
 * it) and the tag, application and fixed piece length when set. Every component uses this one
 * function.
 */
export function taskIdFor(input: TaskIdInput): TaskId {
  const url = parseUrl(input.url)
  const hash = createHash('sha256')
  const blob = ociBlobDigest(url)
  if (blob !== undefined) {
    hash.update(`oci-blob:${blob}\n`)
  } else {
    hash.update(`url:${filterUrl(url, input.filteredQueryParams ?? DEFAULT_FILTERED_QUERY_PARAMS)}\n`)
  }
  if (input.tag) hash.update(`tag:${input.tag}\n`)
  if (input.application) hash.update(`application:${input.application}\n`)
  if (input.pieceLengthBytes !== undefined) hash.update(`piece-length:${input.pieceLengthBytes}\n`)
  return hash.digest('hex') as TaskId
}
