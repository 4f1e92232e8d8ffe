import {
  credentials as channelCredentials, Metadata, status as GrpcStatus, type CallOptions, type ChannelCredentials, type ClientUnaryCall, type ServiceError,
} from '@grpc/grpc-js'
import { hostPort } from '../../common/host-port.js'
import { DamselflyError } from '../../protocol/damselfly-error.js'
import { SchedulerServiceClient, type ClusterStats, type TaskSwarm } from '../../protocol/generated/damselfly/scheduler/v1/scheduler.js'
import { SCHEDULER_CHANNEL_OPTIONS, schedulerChannelCredentials } from '../../security/grpc-tls.js'
import type { LocalIdentity } from '../../security/local-identity.js'
import type { SchedulersRepository } from '../db/schedulers-repository.js'
import type { LiveScheduler, LiveSchedulers } from '../live/live-schedulers.js'

/** The deadline of one question for the console: it polls, so a slow scheduler is skipped, not waited for. */
const LIVE_CALL_TIMEOUT_MS = 3_000

/** One unary call with a deadline, cancelled with `signal`. */
function unary<Res>(
  start: (options: CallOptions, callback: (error: ServiceError | null, response: Res) => void) => ClientUnaryCall,
  signal: AbortSignal,
): Promise<Res> {
  return new Promise<Res>((resolve, reject) => {
    const call = start({ deadline: Date.now() + LIVE_CALL_TIMEOUT_MS }, (error, response) => {
      signal.removeEventListener('abort', cancel)
      if (error !== null) reject(error)
      else resolve(response)
    })
    const cancel = (): void => call.cancel()
    signal.addEventListener('abort', cancel, { once: true })
  })
}

/** A scheduler of a cluster, and a client to it. */
export interface ClusterScheduler {
  /** `host:port`, for logs and errors. */
  readonly address: string
  readonly client: SchedulerServiceClient
}

/** Whether a failed call is worth trying on another scheduler of the cluster: it never reached one that answered. */
export function isTransportFailure(error: unknown): boolean {
  const code = (error as Partial<ServiceError> | null)?.code
  return code === GrpcStatus.UNAVAILABLE || code === GrpcStatus.DEADLINE_EXCEEDED || code === GrpcStatus.INTERNAL
}

/**
 * The manager's way to its clusters' schedulers: the live ones (by their last keepalive, as
 * discovery sees them), each with one client kept for as long as the scheduler stays. Calls
 * carry the manager's own certificate; a scheduler lets only a manager run jobs.
 */
export class ClusterSchedulers implements LiveSchedulers {
  private readonly clients = new Map<string, SchedulerServiceClient>()

  constructor(
    private readonly components: {
      schedulers: SchedulersRepository
      /** The manager's identity; undefined with `security.insecure`, where calls go in the clear. */
      identity: () => LocalIdentity | undefined
    },
    private readonly init: { keepaliveTimeoutMs: number },
  ) {}

  /** The cluster's live schedulers, the least recently tried first; fails with SCHEDULER_UNAVAILABLE when there is none. */
  async of(clusterId: number): Promise<ClusterScheduler[]> {
    const alive = await this.components.schedulers.listAlive(clusterId, this.init.keepaliveTimeoutMs)
    if (alive.length === 0) throw new DamselflyError('SCHEDULER_UNAVAILABLE', `cluster ${clusterId} has no active scheduler`)
    // Spread jobs over the cluster's schedulers: each holds a stream to every host of the cluster.
    const offset = Math.floor(Math.random() * alive.length)
    return [...alive.slice(offset), ...alive.slice(0, offset)].map((scheduler) => {
      const address = hostPort(scheduler.ip, scheduler.port)
      return { address, client: this.clientOf(address) }
    })
  }

  /** The live schedulers of a cluster, or of every cluster, by id, for the console's questions; none is no error. */
  async alive(clusterId: number | undefined): Promise<LiveScheduler[]> {
    const alive = await this.components.schedulers.listAlive(clusterId, this.init.keepaliveTimeoutMs)
    return alive.map((scheduler) => {
      const address = hostPort(scheduler.ip, scheduler.port)
      const client = this.clientOf(address)
      return {
        id: scheduler.id,
        clusterId: scheduler.clusterId,
        hostname: scheduler.hostname,
        ip: scheduler.ip,
        address,
        clusterStats: (signal) => unary<ClusterStats>((options, callback) => client.getClusterStats({}, new Metadata(), options, callback), signal),
        taskSwarm: (taskId, signal) => unary<TaskSwarm>((options, callback) => client.getTaskSwarm({ taskId }, new Metadata(), options, callback), signal),
      }
    })
  }

  private clientOf(address: string): SchedulerServiceClient {
    let client = this.clients.get(address)
    if (client === undefined) {
      client = new SchedulerServiceClient(address, this.credentials(), this.components.identity() === undefined ? {} : SCHEDULER_CHANNEL_OPTIONS)
      this.clients.set(address, client)
    }
    return client
  }

  /** Tries `call` on each live scheduler of the cluster in turn while the failure is one of transport. */
  async withScheduler<T>(clusterId: number, call: (scheduler: ClusterScheduler) => Promise<T>): Promise<T> {
    let last: unknown
    for (const scheduler of await this.of(clusterId)) {
      try {
        return await call(scheduler)
      } catch (error) {
        if (!isTransportFailure(error)) throw error
        last = error
      }
    }
    throw new DamselflyError('SCHEDULER_UNAVAILABLE', `no scheduler of cluster ${clusterId} answered: ${(last as Error | undefined)?.message ?? 'unknown failure'}`, { cause: last })
  }

  private credentials(): ChannelCredentials {
    const identity = this.components.identity()
    return identity === undefined ? channelCredentials.createInsecure() : schedulerChannelCredentials(identity)
  }

  close(): void {
    for (const client of this.clients.values()) client.close()
    this.clients.clear()
  }
}
