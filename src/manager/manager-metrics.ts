import { Counter, Gauge, Histogram, type Registry } from 'prom-client'

/** The manager's Prometheus metrics; names carry the `damselfly_manager_` prefix. */
export class ManagerMetrics {
  readonly grpcRequests: Counter<'method' | 'code'>
  readonly grpcDurationSeconds: Histogram<'method'>
  readonly httpRequests: Counter<'method' | 'route' | 'status'>
  readonly jobsCreated: Counter<'type'>
  readonly jobsFinished: Counter<'type' | 'state'>
  readonly jobsRunning: Gauge<'type'>

  constructor(registry: Registry, counts: { activeMembers: () => Promise<{ schedulers: number; seedPeers: number }> }) {
    const registers = [registry]
    this.grpcRequests = new Counter({
      name: 'damselfly_manager_grpc_requests_total',
      help: 'Calls of schedulers, seed peers and daemons, by method and outcome (OK or an error code).',
      labelNames: ['method', 'code'],
      registers,
    })
    this.grpcDurationSeconds = new Histogram({
      name: 'damselfly_manager_grpc_request_duration_seconds',
      help: 'Time to answer a call, by method.',
      labelNames: ['method'],
      buckets: [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1],
      registers,
    })
    this.httpRequests = new Counter({
      name: 'damselfly_manager_http_requests_total',
      help: 'REST and Open API requests, by method, route pattern and status.',
      labelNames: ['method', 'route', 'status'],
      registers,
    })
    this.jobsCreated = new Counter({
      name: 'damselfly_manager_jobs_created_total',
      help: 'Jobs created through the API (copies included), by type.',
      labelNames: ['type'],
      registers,
    })
    this.jobsFinished = new Counter({
      name: 'damselfly_manager_jobs_finished_total',
      help: 'Job runs this manager ended, by type and final state (SUCCESS or FAILURE).',
      labelNames: ['type', 'state'],
      registers,
    })
    this.jobsRunning = new Gauge({
      name: 'damselfly_manager_jobs_running',
      help: 'Jobs this manager is running now, by type.',
      labelNames: ['type'],
      registers,
    })
    new Gauge({
      name: 'damselfly_manager_active_members',
      help: 'Schedulers and seed peers that kept alive within keepalive.timeout, as discovery sees them (read from the database on each scrape).',
      labelNames: ['kind'],
      registers,
      async collect() {
        const members = await counts.activeMembers()
        this.set({ kind: 'scheduler' }, members.schedulers)
        this.set({ kind: 'seed_peer' }, members.seedPeers)
      },
    })
  }
}
