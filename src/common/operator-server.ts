import { createServer, type Server } from 'node:http'
import type { Registry } from 'prom-client'
import { closeServer, listen } from './http-server.js'
import type { Logger } from './logger.js'
import { serveOperatorEndpoints } from './metrics.js'
import type { Startable } from './startable.js'

/**
 * `/metrics` and `/healthy` on a port of their own, apart from any port that serves content or
 * takes commands: counters and liveness only, no task ids, URLs or credentials.
 */
export class OperatorServer implements Startable {
  private readonly server: Server
  private boundAddress = ''

  constructor(
    private readonly components: { registry: Registry; logger: Logger },
    private readonly init: { host: string; port: number },
  ) {
    this.server = createServer((req, res) => {
      if (serveOperatorEndpoints(req, res, this.components.registry)) return
      res.writeHead(404, { 'content-type': 'text/plain' })
      res.end('not found: this port serves /metrics and /healthy')
    })
  }

  /** `host:port` actually bound, once started. */
  get address(): string {
    return this.boundAddress
  }

  async start(): Promise<void> {
    this.boundAddress = await listen(this.server, { host: this.init.host, port: this.init.port })
    this.components.logger.info({ address: this.boundAddress }, 'metrics server listening')
  }

  stop(): Promise<void> {
    return closeServer(this.server)
  }
}
