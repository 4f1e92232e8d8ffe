import type { IncomingMessage, ServerResponse } from 'node:http'
import { collectDefaultMetrics, Registry, type Counter } from 'prom-client'

/**
 * How often the event-loop lag histogram samples. prom-client's 10 ms default wakes an idle
 * process 100 times a second, about 9 ms of CPU per second in each daemon and scheduler; a stall
 * long enough to matter still shows at 100 ms.
 */
const EVENT_LOOP_SAMPLE_MS = 100

/** One registry per process (never prom-client's global one), with Node's default metrics. */
export function createMetricsRegistry(component: string): Registry {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry, prefix: `damselfly_${component}_`, eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS })
  return registry
}

/**
 * Exports a series at 0 for each value of a closed label set, so a series that has not moved yet
 * reads 0 instead of being absent: rates start from it, and a renamed series is noticed.
 */
export function zeroed<L extends string>(counter: Counter<L>, label: L, values: readonly string[]): void {
  for (const value of values) counter.inc({ [label]: value } as Partial<Record<L, string>>, 0)
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
