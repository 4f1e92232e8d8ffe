import { sign, verify, type KeyObject } from 'node:crypto'
import { DamselflyError } from '../protocol/damselfly-error.js'

/**
 * Pieces sent without TLS (encryption turned off on a trusted network) are still asked for by an
 * authenticated child: it signs each request with its host key, and the parent checks the
 * signature against the key in the child's capability. The header is `<unix ms>.<signature>`.
 */
export const SIGNATURE_HEADER = 'x-damselfly-signature'

/** How far a request's time may be from the parent's clock. */
export const MAX_SIGNATURE_SKEW_MS = 5 * 60_000

export interface SignedRequest {
  readonly method: string
  /** Path and query as sent. */
  readonly path: string
  /** The Range header, or empty. */
  readonly range: string
}

function signedBytes(request: SignedRequest, timeMs: number): Buffer {
  return Buffer.from(`dfs1\n${request.method}\n${request.path}\n${request.range}\n${timeMs}`)
}

export function signRequest(privateKey: KeyObject, request: SignedRequest, nowMs: number): string {
  return `${nowMs}.${sign('sha256', signedBytes(request, nowMs), privateKey).toString('base64url')}`
}

/** Throws UNAUTHENTICATED unless `header` is a fresh signature of `request` by `publicKey` (the capability holder's). */
export function verifyRequestSignature(publicKey: KeyObject, header: string | undefined, request: SignedRequest, nowMs: number): void {
  const invalid = (why: string): DamselflyError => new DamselflyError('UNAUTHENTICATED', `request signature ${why}`)
  if (header === undefined || header === '') throw invalid(`missing: pieces without TLS need the ${SIGNATURE_HEADER} header`)
  const match = /^(\d{1,15})\.([A-Za-z0-9_-]{1,200})$/.exec(header)
  if (match === null || Buffer.from(match[2] ?? '', 'base64url').toString('base64url') !== match[2]) throw invalid('malformed')
  const timeMs = Number(match[1])
  if (Math.abs(nowMs - timeMs) > MAX_SIGNATURE_SKEW_MS) throw invalid(`is ${Math.round((nowMs - timeMs) / 1000)} s off this host's clock`)
  if (!verify('sha256', signedBytes(request, timeMs), publicKey, Buffer.from(match[2] ?? '', 'base64url'))) throw invalid('does not match the capability holder\'s key')
}
