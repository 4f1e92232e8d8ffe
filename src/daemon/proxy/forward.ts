import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http'
import { pipeline } from 'node:stream/promises'
import type { Dispatcher } from 'undici'
import { mapHttpError } from '../../source/map-http-error.js'
import type { Upstream } from './registry-upstream.js'

/** Headers of one hop only (RFC 9110), plus ours that must not travel on. */
const HOP_BY_HOP = new Set([
  'connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'proxy-connection', 'te', 'trailer',
  'transfer-encoding', 'upgrade', 'host', 'x-dragonfly-registry',
])

/** The headers to pass on: hop-by-hop ones and those the Connection header names are dropped. */
export function endToEndHeaders(headers: IncomingHttpHeaders): Record<string, string | string[]> {
  const named = new Set((headers.connection ?? '').split(',').map((name) => name.trim().toLowerCase()))
  const kept: Record<string, string | string[]> = {}
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || HOP_BY_HOP.has(name) || named.has(name)) continue
    kept[name] = value
  }
  return kept
}

/**
 * Sends the client's request to the registry as it is (method, path, Accept, Authorization, body)
 * and returns the registry's status, headers and body unchanged: manifests, `/v2/` pings, tokens,
 * HEADs, pushes, and any blob the P2P path cannot serve.
 */
export async function forward(req: IncomingMessage, res: ServerResponse, upstream: Upstream, dispatcher: Dispatcher, signal: AbortSignal): Promise<void> {
  const method = req.method ?? 'GET'
  const hasBody = method !== 'GET' && method !== 'HEAD'
  let response: Dispatcher.ResponseData
  try {
    response = await dispatcher.request({
      origin: upstream.origin,
      path: upstream.pathAndQuery,
      method,
      headers: endToEndHeaders(req.headers),
      ...(hasBody ? { body: req } : {}),
      signal,
    })
  } catch (error) {
    throw mapHttpError(error, { phase: 'request', url: new URL(`${upstream.origin}${upstream.pathAndQuery}`), signal, headersTimeoutMs: 0, bodyIdleTimeoutMs: 0, connectTimeoutMs: 0 })
  }
  res.writeHead(response.statusCode, endToEndHeaders(response.headers) as OutgoingHttpHeaders)
  if (method === 'HEAD') {
    await response.body.dump()
    res.end()
    return
  }
  await pipeline(response.body, res)
}
