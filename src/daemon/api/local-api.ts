import { DamselflyError, type ErrorDetails } from '../../protocol/damselfly-error.js'
import type { ErrorCode } from '../../protocol/error-codes.js'

/** Paths and header names of the local API, shared by the daemon and its clients. */
export const LOCAL_API = {
  download: '/v1/tasks/download',
  tasks: '/v1/tasks',
  taskIdHeader: 'x-dragonfly-task-id',
  errorTypeHeader: 'x-dragonfly-error-type',
  contentLengthHeader: 'x-dragonfly-content-length',
  /** Trailer sent after the content: `ok`, or the URI-encoded JSON of the error. */
  resultTrailer: 'x-damselfly-result',
} as const

export function encodeResult(error: DamselflyError | undefined): string {
  return error === undefined ? 'ok' : encodeURIComponent(JSON.stringify(error.toJSON()))
}

/** `undefined` for success; the decoded error otherwise (an unreadable trailer is an INTERNAL error). */
export function decodeResult(trailer: string | undefined): DamselflyError | undefined {
  if (trailer === 'ok') return undefined
  if (trailer === undefined) return new DamselflyError('INTERNAL', 'the daemon ended the download without an outcome')
  try {
    return DamselflyError.fromJSON(JSON.parse(decodeURIComponent(trailer))) ?? new DamselflyError('INTERNAL', 'unreadable download outcome')
  } catch {
    return new DamselflyError('INTERNAL', 'unreadable download outcome')
  }
}

/** Where a failure came from, as Dragonfly's `X-Dragonfly-Error-Type` says it. */
export function errorType(error: DamselflyError): 'backend' | 'dfdaemon' {
  return error.code.startsWith('SOURCE_') ? 'backend' : 'dfdaemon'
}

/** One line of a `delivery=path` answer. */
export type LocalApiEvent =
  | { readonly event: 'progress'; readonly completedBytes: number }
  | { readonly event: 'done'; readonly contentPath: string | null; readonly contentLength: number }
  | { readonly event: 'error'; readonly error: { code: ErrorCode; message: string; details: ErrorDetails } }
