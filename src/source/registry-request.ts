import type { IncomingHttpHeaders } from 'node:http'
import type { Dispatcher } from 'undici'
import { DamselflyError } from '../protocol/damselfly-error.js'
import { parseContentLength, printableUrl } from './http-headers.js'
import { mapHttpError } from './map-http-error.js'

/** A small GET to a registry or its token service: a manifest, a token, the `/v2/` ping. */
export interface RegistryRequest {
  readonly url: URL
  readonly headers: Readonly<Record<string, string>>
  /** Aborting it ends the request; a `TimeoutError` reason (from `AbortSignal.timeout`) reads as SOURCE_TIMEOUT. */
  readonly signal: AbortSignal
  /** A longer body fails with INVALID_ARGUMENT before more of it is read. */
  readonly maxBodyBytes: number
  /** Who is asked, first in every message: `registry reg.example, repository library/alpine`. */
  readonly subject: string
}

/** A registry's whole answer; the body is small by {@link RegistryRequest.maxBodyBytes}. */
export interface RegistryResponse {
  readonly statusCode: number
  readonly headers: IncomingHttpHeaders
  readonly body: Buffer
}

/** undici's timeouts are the dispatcher's, unknown here; they are named without a duration. */
const DISPATCHER_TIMEOUTS: Readonly<Record<string, string>> = {
  UND_ERR_HEADERS_TIMEOUT: 'sent no response headers in time',
  UND_ERR_BODY_TIMEOUT: 'stopped sending the body',
  UND_ERR_CONNECT_TIMEOUT: 'could not be connected to in time',
}

/**
 * GETs `request.url` through `dispatcher` (no redirects but the dispatcher's own) and reads the
 * body whole. Fails with a DamselflyError whose message starts with the subject: SOURCE_TIMEOUT,
 * SOURCE_UNREACHABLE, CANCELLED, SOURCE_NOT_ALLOWED from a policy-bound dispatcher, or
 * INVALID_ARGUMENT for a body over the cap. Any status is an answer, not an error.
 */
export async function registryGet(dispatcher: Dispatcher, request: RegistryRequest): Promise<RegistryResponse> {
  const { url, signal } = request
  let response: Dispatcher.ResponseData
  try {
    response = await dispatcher.request({ origin: url.origin, path: `${url.pathname}${url.search}`, method: 'GET', headers: { ...request.headers }, signal })
  } catch (error) {
    throw requestFailure(error, request)
  }
  const announced = parseContentLength(typeof response.headers['content-length'] === 'string' ? response.headers['content-length'] : undefined)
  if (announced !== undefined && announced > request.maxBodyBytes) {
    response.body.destroy()
    throw tooLarge(request)
  }
  const chunks: Buffer[] = []
  let bytes = 0
  try {
    for await (const chunk of response.body) {
      const buffer = chunk as Buffer
      bytes += buffer.length
      if (bytes > request.maxBodyBytes) {
        response.body.destroy()
        throw tooLarge(request)
      }
      chunks.push(buffer)
    }
  } catch (error) {
    if (error instanceof DamselflyError) throw error
    throw requestFailure(error, request, 'body')
  }
  return { statusCode: response.statusCode, headers: response.headers, body: Buffer.concat(chunks) }
}

function tooLarge(request: RegistryRequest): DamselflyError {
  return new DamselflyError('INVALID_ARGUMENT', `${request.subject}: the answer from ${printableUrl(request.url)} is larger than ${request.maxBodyBytes} bytes`)
}

function requestFailure(error: unknown, request: RegistryRequest, phase: 'request' | 'body' = 'request'): DamselflyError {
  const url = printableUrl(request.url)
  if (request.signal.aborted) {
    const reason: unknown = request.signal.reason
    if (reason instanceof Error && reason.name === 'TimeoutError') {
      return new DamselflyError('SOURCE_TIMEOUT', `${request.subject}: no answer from ${url} before the deadline`, { cause: error })
    }
    return new DamselflyError('CANCELLED', `${request.subject}: request to ${url} was cancelled`, { cause: error })
  }
  const code = typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string' ? error.code : undefined
  const timeout = code === undefined ? undefined : DISPATCHER_TIMEOUTS[code]
  if (timeout !== undefined) {
    const failure = code === 'UND_ERR_CONNECT_TIMEOUT' ? 'SOURCE_UNREACHABLE' : 'SOURCE_TIMEOUT'
    return new DamselflyError(failure, `${request.subject}: ${request.url.host} ${timeout} (${url})`, { cause: error })
  }
  const mapped = mapHttpError(error, { phase, url: request.url, signal: request.signal, headersTimeoutMs: 0, bodyIdleTimeoutMs: 0, connectTimeoutMs: 0 })
  return new DamselflyError(mapped.code, `${request.subject}: ${mapped.message}`, { cause: error, details: mapped.details })
}
