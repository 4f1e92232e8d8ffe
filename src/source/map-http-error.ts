import { DamselflyError, isDamselflyError } from '../protocol/damselfly-error.js'
import { printableUrl } from './http-headers.js'

export interface HttpFailureContext {
  /** Before the response headers arrived, or while the body streamed. */
  readonly phase: 'request' | 'body'
  /** The URL being fetched; only its origin and path reach a message. */
  readonly url: URL
  readonly signal: AbortSignal
  readonly headersTimeoutMs: number
  readonly bodyIdleTimeoutMs: number
  readonly connectTimeoutMs: number
}

const CONNECT_FAILURES: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ENOTFOUND: 'DNS lookup failed',
  EAI_AGAIN: 'DNS lookup failed temporarily',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ETIMEDOUT: 'connect timed out',
  EPIPE: 'connection closed while sending',
  UND_ERR_SOCKET: 'the origin closed the connection',
  UND_ERR_CLOSED: 'the source is closed',
  UND_ERR_DESTROYED: 'the source is closed',
}

/** OpenSSL's certificate verification failures, as Node reports them in `code`. */
const CERTIFICATE_FAILURES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID', 'CERT_REVOKED', 'CERT_UNTRUSTED', 'CERT_REJECTED', 'CERT_SIGNATURE_FAILURE',
  'CERT_CHAIN_TOO_LONG', 'INVALID_CA', 'INVALID_PURPOSE', 'PATH_LENGTH_EXCEEDED',
  'HOSTNAME_MISMATCH', 'ERR_TLS_CERT_ALTNAME_INVALID',
])

/** Turns whatever undici or Node threw into the DamselflyError the Source contract promises. */
export function mapHttpError(error: unknown, context: HttpFailureContext): DamselflyError {
  const url = printableUrl(context.url)
  // The connector refuses an address without knowing the request; the URL is known here.
  if (isDamselflyError(error, 'SOURCE_NOT_ALLOWED')) {
    return new DamselflyError('SOURCE_NOT_ALLOWED', `source address policy refused ${url}: ${error.message}`, { cause: error, details: { url } })
  }
  if (error instanceof DamselflyError) return error
  // The signal's reason may be anything the caller chose, so the signal is the authority.
  if (context.signal.aborted) {
    return new DamselflyError('CANCELLED', `request to ${url} was cancelled`, { cause: error })
  }
  const code = errorCode(error)
  const reason = firstLine(error)
  if (code === 'UND_ERR_HEADERS_TIMEOUT') {
    return new DamselflyError('SOURCE_TIMEOUT', `origin sent no response headers within ${context.headersTimeoutMs}ms for ${url}`, { cause: error })
  }
  if (code === 'UND_ERR_BODY_TIMEOUT') {
    return new DamselflyError('SOURCE_TIMEOUT', `origin sent no body bytes for ${context.bodyIdleTimeoutMs}ms for ${url}`, { cause: error })
  }
  if (context.phase === 'body') {
    return new DamselflyError('SOURCE_TRUNCATED', `body from ${url} broke off: ${reason}`, { cause: error })
  }
  const host = context.url.host
  if (code === 'UND_ERR_CONNECT_TIMEOUT') {
    return new DamselflyError('SOURCE_UNREACHABLE', `cannot reach origin ${host}: connect timed out after ${context.connectTimeoutMs}ms`, { cause: error })
  }
  if (code !== undefined && CERTIFICATE_FAILURES.has(code)) {
    return new DamselflyError('SOURCE_UNREACHABLE', `TLS verification of origin ${host} failed: ${reason} (set a CA or insecure)`, { cause: error })
  }
  if (code !== undefined && (code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_'))) {
    return new DamselflyError('SOURCE_UNREACHABLE', `TLS handshake with origin ${host} failed: ${reason}`, { cause: error })
  }
  const connectFailure = code === undefined ? undefined : CONNECT_FAILURES[code]
  if (connectFailure !== undefined) {
    return new DamselflyError('SOURCE_UNREACHABLE', `cannot reach origin ${host}: ${connectFailure}`, { cause: error })
  }
  if (code?.startsWith('HPE_') === true) {
    return new DamselflyError('SOURCE_UNREACHABLE', `origin ${host} sent a malformed response: ${reason}`, { cause: error })
  }
  if (code === 'UND_ERR_INVALID_ARG') {
    return new DamselflyError('INVALID_ARGUMENT', `request to ${url} is invalid: ${reason}`, { cause: error })
  }
  return new DamselflyError('SOURCE_UNREACHABLE', `request to ${url} failed: ${reason}`, { cause: error })
}

/** Node reports a failed happy-eyeballs connect as an AggregateError whose parts carry the code. */
function errorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined
  if ('code' in error && typeof error.code === 'string') return error.code
  if (error instanceof AggregateError) return errorCode(error.errors[0])
  return undefined
}

function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error)
  return message.split('\n')[0] ?? message
}
