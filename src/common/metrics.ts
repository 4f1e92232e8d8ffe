import type { IncomingMessage, ServerResponse } from 'node:http'
import { collectDefaultMetrics, Registry } from 'prom-client'

/** One registry per process (never prom-client's global one), with Node's default metrics. */
export function createMetricsRegistry(component: string): Registry {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry, prefix: `damselfly_${component}_` })
  return registry
}

/** Answers `/metrics` and `/healthy`; returns false for any other path so the caller can route it. */
export function serveOperatorEndpoints(req: IncomingMessage, res: ServerResponse, registry: Registry): boolean {
  const path = (req.url ?? '/').split('?')[0]
  if (req.method !== 'GET' && req.method !== 'HEAD') return false
  if (path === '/healthy') {
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': 2 })
    res.end(req.method === 'HEAD' ? undefined : 'OK')
    return true
  }
  if (path === '/metrics') {
    registry.metrics().then(
      (text) => {
        res.writeHead(200, { 'content-type': registry.contentType })
        res.end(text)
      },
      (error: unknown) => {
        res.writeHead(500, { 'content-type': 'text/plain' })
        res.end(String(error))
      },
    )
    return true
  }
  return false
}
