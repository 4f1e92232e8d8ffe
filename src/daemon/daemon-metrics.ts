import { Counter, Gauge, Histogram, type Registry } from 'prom-client'
import { zeroed } from '../common/metrics.js'

/** Where served bytes came from, as Dragonfly labels its traffic: the origin, another host, or this host's cache. */
export const TRAFFIC_TYPES = ['back_to_source', 'remote_peer', 'local_peer'] as const
export type TrafficType = (typeof TRAFFIC_TYPES)[number]
/** How the registry mirror served a request. */
export const PROXY_REQUEST_KINDS = ['p2p', 'direct', 'tunnel', 'intercepted'] as const
/** How a download request ended. */
export const DOWNLOAD_TASK_OUTCOMES = ['completed', 'failed', 'cached'] as const
/** The commands a scheduler sends a host for the manager's jobs. */
export const HOST_COMMANDS = ['download_task', 'cancel_download_task', 'stat_task', 'delete_task'] as const
export type HostCommandName = (typeof HOST_COMMANDS)[number]
/**
 * How a host command ended: `succeeded`; `failed` (a download that failed or was cancelled, a
 * delete that failed); `invalid` (refused at the boundary); `ignored` (a repeated request id, a
 * cancel of no running download).
 */
export const HOST_COMMAND_OUTCOMES = ['succeeded', 'failed', 'invalid', 'ignored'] as const
export type HostCommandOutcome = (typeof HOST_COMMAND_OUTCOMES)[number]
/** What a request to an origin asked for. */
export const SOURCE_REQUEST_KINDS = ['stat', 'range', 'whole'] as const

/** The daemon's Prometheus metrics; names carry the `damselfly_dfdaemon_` prefix. */
export class DaemonMetrics {
  readonly downloadTrafficBytes: Counter<'type'>
  readonly uploadTrafficBytes: Counter
  readonly downloadTasks: Counter<'outcome'>
  readonly downloadTaskFailures: Counter<'code'>
  readonly activeDownloads: Gauge
  readonly taskDurationSeconds: Histogram
  readonly pieceDurationSeconds: Histogram<'type'>
  readonly sourceRequests: Counter<'kind'>
  readonly uploadRequests: Counter<'status'>
  readonly pieceWatches: Counter
  readonly gcEvictions: Counter<'reason'>
  readonly proxyRequests: Counter<'kind'>
  readonly proxyRefusals: Counter<'reason'>
  readonly hostCommands: Counter<'command' | 'outcome'>

  constructor(registry: Registry) {
    const registers = [registry]
    this.downloadTrafficBytes = new Counter({
      name: 'damselfly_dfdaemon_download_traffic_bytes_total',
      help: 'Bytes this daemon obtained for its clients, by where they came from (local_peer: its own cache).',
      labelNames: ['type'],
      registers,
    })
    this.uploadTrafficBytes = new Counter({
      name: 'damselfly_dfdaemon_upload_traffic_bytes_total',
      help: 'Bytes this daemon served to other peers from its upload server.',
      registers,
    })
    this.downloadTasks = new Counter({
      name: 'damselfly_dfdaemon_download_task_total',
      help: 'Download requests answered, by outcome (completed, failed, cached).',
      labelNames: ['outcome'],
      registers,
    })
    this.downloadTaskFailures = new Counter({
      name: 'damselfly_dfdaemon_download_task_failure_total',
      help: 'Failed download requests, by error code.',
      labelNames: ['code'],
      registers,
    })
    this.activeDownloads = new Gauge({
      name: 'damselfly_dfdaemon_active_downloads',
      help: 'Tasks being downloaded right now.',
      registers,
    })
    this.taskDurationSeconds = new Histogram({
      name: 'damselfly_dfdaemon_task_download_duration_seconds',
      help: 'Time from the start of a task download until its last piece was stored.',
      buckets: [0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900],
      registers,
    })
    this.pieceDurationSeconds = new Histogram({
      name: 'damselfly_dfdaemon_piece_download_duration_seconds',
      help: 'Time to download one piece, by where it came from.',
      labelNames: ['type'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    })
    this.sourceRequests = new Counter({
      name: 'damselfly_dfdaemon_source_request_total',
      help: 'Requests sent to origins, by kind (stat, range, whole).',
      labelNames: ['kind'],
      registers,
    })
    this.uploadRequests = new Counter({
      name: 'damselfly_dfdaemon_upload_request_total',
      help: 'Requests to the upload server, by HTTP status.',
      labelNames: ['status'],
      registers,
    })
    this.pieceWatches = new Counter({
      name: 'damselfly_dfdaemon_piece_watch_total',
      help: 'Watches of this host\'s pieces of a task that children opened: each lists the pieces, then each new one as it is recorded.',
      registers,
    })
    this.proxyRequests = new Counter({
      name: 'damselfly_dfdaemon_proxy_request_total',
      help: 'Requests to the registry mirror, by how they were served (p2p, direct, tunnel, intercepted) or refused (busy: beyond proxy.maxConcurrency).',
      labelNames: ['kind'],
      registers,
    })
    this.proxyRefusals = new Counter({
      name: 'damselfly_dfdaemon_proxy_refused_request_total',
      help: 'Requests the registry mirror refused, by reason (registry-not-allowed, dot-segment, ...).',
      labelNames: ['reason'],
      registers,
    })
    zeroed(this.downloadTrafficBytes, 'type', TRAFFIC_TYPES)
    zeroed(this.downloadTasks, 'outcome', DOWNLOAD_TASK_OUTCOMES)
    zeroed(this.sourceRequests, 'kind', SOURCE_REQUEST_KINDS)
    zeroed(this.proxyRequests, 'kind', PROXY_REQUEST_KINDS)
    this.hostCommands = new Counter({
      name: 'damselfly_dfdaemon_host_commands_total',
      help: 'Commands for the manager\'s jobs received from schedulers, by command and outcome (succeeded, failed, invalid, ignored).',
      labelNames: ['command', 'outcome'],
      registers,
    })
    this.gcEvictions = new Counter({
      name: 'damselfly_dfdaemon_gc_evicted_task_total',
      help: 'Tasks evicted by garbage collection, by reason.',
      labelNames: ['reason'],
      registers,
    })
  }
}
