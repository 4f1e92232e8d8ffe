import { performance } from 'node:perf_hooks'
import type { sendUnaryData, ServerUnaryCall } from '@grpc/grpc-js'
import { toGrpcStatus } from '../../common/grpc-status.js'
import type { Logger } from '../../common/logger.js'
import { DamselflyError, toDamselflyError } from '../../protocol/damselfly-error.js'
import type {
  ClusterConfig as ClusterConfigMessage,
  ManagerServiceServer,
  Scheduler as SchedulerMessage,
  SeedPeer as SeedPeerMessage,
} from '../../protocol/generated/damselfly/manager/v1/manager.js'
import type { AuthenticatedCall, CallerIdentities } from '../../security/grpc-tls.js'
import type { HostIdentity } from '../../security/identity.js'
import type { Cluster, ClustersRepository } from '../db/clusters-repository.js'
import type { HostsRepository } from '../db/hosts-repository.js'
import type { SchedulerRecord, SchedulersRepository } from '../db/schedulers-repository.js'
import type { SeedPeerRecord, SeedPeersRepository } from '../db/seed-peers-repository.js'
import { checkAnyCaller, checkMemberCaller } from './caller-roles.js'
import { rankClusters, type HostPlacement } from './cluster-search.js'
import {
  parseKeepAlive, parseListSchedulers, parseRegisterScheduler, parseRegisterSeedPeer, parseReportHosts,
} from './manager-requests.js'

export function clusterConfigMessage(cluster: Cluster): ClusterConfigMessage {
  const { config } = cluster
  return {
    candidateParentLimit: config.scheduler_cluster_config.candidate_parent_limit,
    filterParentLimit: config.scheduler_cluster_config.filter_parent_limit,
    seedPeerLoadLimit: config.seed_peer_cluster_config.load_limit,
    peerLoadLimit: config.peer_cluster_config.load_limit,
    blocklist: { applications: [...config.blocklist.applications], urls: [...config.blocklist.urls], tags: [...config.blocklist.tags] },
    version: cluster.updatedAtMs,
  }
}

function schedulerMessage(record: SchedulerRecord, state: string): SchedulerMessage {
  return {
    id: record.id, clusterId: record.clusterId, hostname: record.hostname, ip: record.ip, port: record.port,
    idc: record.idc, location: record.location, features: [...record.features], hostId: record.hostId, state,
  }
}

function seedPeerMessage(record: SeedPeerRecord, state: string): SeedPeerMessage {
  return {
    id: record.id, clusterId: record.clusterId, hostname: record.hostname, ip: record.ip, port: record.port,
    type: record.type, idc: record.idc, location: record.location, hostId: record.hostId, state,
  }
}

export interface ManagerServiceComponents {
  readonly clusters: ClustersRepository
  readonly schedulers: SchedulersRepository
  readonly seedPeers: SeedPeersRepository
  readonly hosts: HostsRepository
  /** Who called, by the certificate TLS checked; shared with the manager's other services. */
  readonly callers: CallerIdentities
  /** Whether the managers revoked a host: it is refused, and never handed out as a scheduler. */
  readonly isRevoked: (hostId: string) => Promise<boolean>
  /** Every revoked host whose certificate may still be valid: few, and read once per discovery. */
  readonly revokedHostIds: () => Promise<string[]>
  /** Told of every call answered: its method, outcome (OK or an error code) and duration. */
  readonly observe?: (method: string, code: string, seconds: number) => void
  readonly logger: Logger
}

export interface ManagerServiceInit {
  /** A member silent this long is left out of discovery. */
  readonly keepaliveTimeoutMs: number
  /** Every caller must show a certificate of the cluster; false while the manager serves without TLS. */
  readonly requireIdentity: boolean
}

/**
 * The gRPC handlers of `ManagerService` (proto/damselfly/manager/v1/manager.proto). Each request is
 * parsed once, here at the edge; failures answer the status of their code (docs/errors.md).
 * Nothing is kept in this process: several managers on one database answer alike.
 */
export class ManagerService {
  constructor(
    private readonly components: ManagerServiceComponents,
    private readonly init: ManagerServiceInit,
  ) {}

  /** The handler object grpc-js expects for `server.addService(ManagerServiceService, ...)`. */
  handlers(): ManagerServiceServer {
    const { clusters, schedulers, seedPeers, hosts } = this.components
    const requireIdentity = this.init.requireIdentity
    return {
      registerScheduler: this.unary('register scheduler', async (call) => {
        const request = parseRegisterScheduler(call.request)
        checkMemberCaller(await this.caller(call), { role: 'scheduler', ip: request.ip, hostId: request.hostId }, { requireIdentity, what: 'register scheduler' })
        const cluster = await this.clusterFor(request.clusterId, request)
        const record = await schedulers.register({ ...request, clusterId: cluster.id })
        this.components.logger.info({ clusterId: cluster.id, hostname: record.hostname, ip: record.ip, port: record.port }, 'scheduler registered')
        return { scheduler: schedulerMessage(record, 'active'), config: clusterConfigMessage(cluster) }
      }),
      registerSeedPeer: this.unary('register seed peer', async (call) => {
        const request = parseRegisterSeedPeer(call.request)
        checkMemberCaller(await this.caller(call), { role: 'seed', ip: request.ip, hostId: request.hostId }, { requireIdentity, what: 'register seed peer' })
        const cluster = await this.clusterFor(request.clusterId, request)
        const record = await seedPeers.register({ ...request, clusterId: cluster.id })
        this.components.logger.info({ clusterId: cluster.id, hostname: record.hostname, ip: record.ip, port: record.port }, 'seed peer registered')
        return { seedPeer: seedPeerMessage(record, 'active') }
      }),
      keepAlive: this.unary('keepalive', async (call) => {
        const request = parseKeepAlive(call.request)
        const role = request.sourceType === 'scheduler' ? 'scheduler' : 'seed'
        checkMemberCaller(await this.caller(call), { role, ip: request.ip, hostId: '' }, { requireIdentity, what: 'keepalive' })
        const members = request.sourceType === 'scheduler' ? schedulers : seedPeers
        if (!(await members.keepAlive(request))) {
          throw new DamselflyError('NOT_FOUND', `keepalive: no ${request.sourceType} ${request.hostname} ${request.ip} in cluster ${request.clusterId}; register again`)
        }
        return { config: clusterConfigMessage(await clusters.getOrThrow(request.clusterId)) }
      }),
      listSchedulers: this.unary('list schedulers', async (call) => {
        const request = parseListSchedulers(call.request)
        checkAnyCaller(await this.caller(call), { requireIdentity, what: 'list schedulers' })
        const timeoutMs = this.init.keepaliveTimeoutMs
        // The best-matching cluster that has a live scheduler: a scoped cluster whose schedulers all died
        // leaves its hosts to the next best rather than without any.
        for (const cluster of rankClusters((await clusters.list()).clusters, request)) {
          const alive = await this.unrevoked(await schedulers.listAlive(cluster.id, timeoutMs))
          if (alive.length === 0) continue
          return { clusterId: cluster.id, schedulers: alive.map((record) => schedulerMessage(record, 'active')) }
        }
        return { clusterId: 0, schedulers: [] }
      }),
      reportHosts: this.unary('report hosts', async (call) => {
        const request = parseReportHosts(call.request)
        checkMemberCaller(await this.caller(call), { role: 'scheduler', ip: request.ip, hostId: '' }, { requireIdentity, what: 'report hosts' })
        if ((await schedulers.find(request)) === undefined) {
          throw new DamselflyError('NOT_FOUND', `report hosts: no scheduler ${request.hostname} ${request.ip} in cluster ${request.clusterId}; register again`)
        }
        await hosts.report(request.clusterId, request.hosts)
        return {}
      }),
    }
  }

  /** The caller's identity, from its certificate; PERMISSION_DENIED for a revoked host, whatever its certificate says. */
  private async caller(call: AuthenticatedCall): Promise<HostIdentity | undefined> {
    const identity = this.components.callers.of(call)
    if (identity !== undefined && (await this.components.isRevoked(identity.hostId))) {
      throw new DamselflyError('PERMISSION_DENIED', `host ${identity.hostId} is revoked`)
    }
    return identity
  }

  /** Members whose hosts are not revoked: a revoked scheduler is never handed to a daemon. */
  private async unrevoked<T extends { readonly hostId: string }>(members: readonly T[]): Promise<T[]> {
    if (members.length === 0) return []
    const revoked = new Set(await this.components.revokedHostIds())
    return revoked.size === 0 ? [...members] : members.filter((member) => !revoked.has(member.hostId))
  }

  /** The cluster a member named, or the one whose scopes fit it best (the default cluster when none does). */
  private async clusterFor(clusterId: number, placement: HostPlacement): Promise<Cluster> {
    if (clusterId !== 0) {
      const cluster = await this.components.clusters.get(clusterId)
      if (cluster === undefined) throw new DamselflyError('NOT_FOUND', `no cluster ${clusterId}`)
      return cluster
    }
    const best = rankClusters((await this.components.clusters.list()).clusters, placement)[0]
    return best ?? (await this.components.clusters.ensureDefault())
  }

  /** One unary handler: its failures become the status of their code, in this one place. */
  private unary<Req, Res>(what: string, handle: (call: ServerUnaryCall<Req, Res>) => Promise<Res>): (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>) => void {
    return (call, callback) => {
      const startedMs = performance.now()
      const observe = (code: string): void => this.components.observe?.(what.replaceAll(' ', '_'), code, (performance.now() - startedMs) / 1000)
      handle(call).then(
        (response) => {
          observe('OK')
          callback(null, response)
        },
        (error: unknown) => {
          const failure = toDamselflyError(error)
          observe(failure.code)
          if (failure.code === 'INTERNAL') this.components.logger.error({ err: error }, `${what} failed`)
          else this.components.logger.debug({ code: failure.code, reason: failure.message }, `${what} refused`)
          callback(toGrpcStatus(failure), null)
        },
      )
    }
  }
}
