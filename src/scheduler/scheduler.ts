import { hostname } from 'node:os'
import { join } from 'node:path'
import { credentials as channelCredentials, Server as GrpcServer, ServerCredentials } from '@grpc/grpc-js'
import type { Registry } from 'prom-client'
import { systemClock, type Clock } from '../common/clock.js'
import { bindGrpcServer, shutdownGrpcServer } from '../common/grpc-server.js'
import type { Logger } from '../common/logger.js'
import { createMetricsRegistry } from '../common/metrics.js'
import { OperatorServer } from '../common/operator-server.js'
import type { Startable } from '../common/startable.js'
import { HostReporter } from '../manager-client/host-reporter.js'
import { ManagerConnection } from '../manager-client/manager-connection.js'
import { MemberKeepalive } from '../manager-client/member-keepalive.js'
import { DamselflyError } from '../protocol/damselfly-error.js'
import type { RegisterSchedulerResponse } from '../protocol/generated/damselfly/manager/v1/manager.js'
import { IdentityServiceService } from '../protocol/generated/damselfly/identity/v1/identity.js'
import { SchedulerServiceService } from '../protocol/generated/damselfly/scheduler/v1/scheduler.js'
import { CapabilityIssuer } from '../security/capability.js'
import { initClusterPki, PKI_FILES } from '../security/cluster-pki.js'
import { MANAGER_CHANNEL_OPTIONS, managerChannelCredentials, renewableServerCredentials } from '../security/grpc-tls.js'
import { certificateAddresses, certificateHostname } from '../security/identity.js'
import { JoinService } from '../security/join-service.js'
import { JoinTokenStore } from '../security/join-tokens.js'
import { joinAny } from '../security/join-client.js'
import { issueLocalIdentity, readIdentity, writeIdentity, type LocalIdentity } from '../security/local-identity.js'
import { ManagedTrust } from '../security/managed-trust.js'
import { NO_REVOCATIONS, type RevocationList } from '../security/revocation-watcher.js'
import { fromPem } from '../security/x509.js'
import { defaultSchedulerIdentityDir, type SchedulerConfig } from './config.js'
import type { ClusterSettings } from './cluster-settings.js'
import type { Evaluator } from './evaluator.js'
import { PeerCapabilities } from './peer-capabilities.js'
import type { ResourceStore } from './resource-store.js'
import { SchedulerCore } from './scheduler-core.js'
import type { SchedulerMetrics } from './scheduler-metrics.js'
import { SchedulerService } from './scheduler-service.js'

/** How long joining at a manager may take on a first start. */
const JOIN_TIMEOUT_MS = 15_000

/** The deadline of one call to a manager. */
const MANAGER_CALL_TIMEOUT_MS = 5_000

/** The shortest gap between two host reports to the manager, however often hosts come and go. */
const HOST_REPORT_MIN_GAP_MS = 1_000


/** The address daemons reach this scheduler at, as registered with the manager: one its certificate names. */
function advertisedAddress(server: { listenIP: string; advertiseIP: string }): string {
  return certificateAddresses(server)[0] ?? '127.0.0.1'
}

export interface SchedulerComponents {
  readonly logger: Logger
  readonly clock?: Clock
  /** Uniform in [0, 1); defaults to Math.random. */
  readonly random?: () => number
  readonly evaluator?: Evaluator
  /** Hosts refused whatever their certificates say, and whose streams end when they are revoked; none by default. */
  readonly revocations?: RevocationList
}

/**
 * The composition root of the scheduler: the resource model, scheduling, the gRPC service, the
 * metrics endpoint and GC. Start order: metrics, gRPC, GC; stop in reverse.
 */
export class Scheduler implements Startable {
  readonly registry: Registry
  readonly metrics: SchedulerMetrics
  readonly store: ResourceStore
  /** The limits and blocklist the cluster config from the manager may change while running. */
  readonly settings: ClusterSettings
  /** What the scheduler does with each message, behind the gRPC service. */
  private readonly core: SchedulerCore
  private readonly service: SchedulerService
  private readonly grpcServer = new GrpcServer()
  private readonly operator: OperatorServer
  private gcTimer: NodeJS.Timeout | undefined
  private capabilities: PeerCapabilities | undefined
  private localIdentity: LocalIdentity | undefined
  private managerParts: { connection: ManagerConnection; keepalive: MemberKeepalive; reporter: HostReporter } | undefined
  private boundAddress: string | undefined
  private stopping: Promise<void> | undefined
  private readonly unsubscribeRevocations: () => void
  /** Renewal of a certificate the managers issued, and the hosts they revoked; undefined otherwise. */
  private trust: ManagedTrust | undefined
  /** Switches the gRPC port to a renewed certificate. */
  private renewServerCertificate: ((renewed: LocalIdentity) => void) | undefined

  constructor(
    private readonly config: SchedulerConfig,
    private readonly components: SchedulerComponents,
  ) {
    const clock = components.clock ?? systemClock
    const logger = components.logger
    this.registry = createMetricsRegistry('scheduler')
    this.core = new SchedulerCore({
      clock,
      logger,
      ...(components.random === undefined ? {} : { random: components.random }),
      ...(components.evaluator === undefined ? {} : { evaluator: components.evaluator }),
      capabilityFor: (peer) => this.capabilities?.for(peer) ?? '',
      settings: config.scheduler,
      registry: this.registry,
      onHostsChanged: () => this.hostsChanged(),
    })
    this.store = this.core.store
    this.metrics = this.core.metrics
    this.settings = this.core.cluster
    this.service = new SchedulerService(
      {
        core: this.core, clock, logger: logger.child({ component: 'service' }),
        // The managers' list once this scheduler runs on a certificate of theirs; the one it was given otherwise.
        revocations: { isRevoked: (hostId) => (this.trust ?? components.revocations ?? NO_REVOCATIONS).isRevoked(hostId) },
      },
      { requireIdentity: !config.security.insecure },
    )
    this.grpcServer.addService(SchedulerServiceService, this.service.handlers())
    this.unsubscribeRevocations = (components.revocations ?? NO_REVOCATIONS).onRevoked((hostIds) => this.service.revokeHosts(hostIds))
    this.operator = new OperatorServer({ registry: this.registry, logger: logger.child({ component: 'metrics' }) }, { host: config.server.listenIP, port: config.metrics.port })
  }

  /** `host:port` the gRPC server is bound to (the real port when 0 was configured); set once started. */
  get address(): string | undefined {
    return this.boundAddress
  }

  /** `host:port` of `/metrics` and `/healthy`; set once started. */
  get metricsAddress(): string | undefined {
    return this.operator.address === '' ? undefined : this.operator.address
  }

  async start(): Promise<void> {
    const { server, scheduler } = this.config
    const credentials = await this.credentials()
    await this.operator.start()
    this.boundAddress = await bindGrpcServer(this.grpcServer, server.listenIP, server.port, credentials)
    const port = Number(this.boundAddress.split(':').pop())
    this.gcTimer = setInterval(() => {
      this.store.gc()
    }, scheduler.gc.interval)
    this.gcTimer.unref()
    this.components.logger.info(
      { address: this.boundAddress, metrics: this.metricsAddress, advertiseIP: server.advertiseIP || undefined, tls: !this.config.security.insecure },
      'scheduler listening',
    )
    if (this.config.manager.addrs.length > 0) await this.startManagerClient(port)
  }

  /**
   * Registers with the managers and keeps alive, applying each changed cluster config, and
   * reports the hosts this scheduler knows. Never waits for a manager: a scheduler serves its
   * daemons with its own config until one answers.
   */
  private async startManagerClient(port: number): Promise<void> {
    const { manager, host, server } = this.config
    const clock = this.components.clock ?? systemClock
    const logger = this.components.logger.child({ component: 'manager-client' })
    const local = this.localIdentity
    const connection = new ManagerConnection({
      addresses: manager.addrs,
      credentials: local === undefined ? channelCredentials.createInsecure() : managerChannelCredentials(local),
      channelOptions: MANAGER_CHANNEL_OPTIONS,
      callTimeoutMs: MANAGER_CALL_TIMEOUT_MS,
    })
    const ip = advertisedAddress(server)
    const request = {
      hostname: host.hostname, ip, port, idc: host.idc, location: host.location, features: [] as string[],
      hostId: local?.identity.hostId ?? '', clusterId: manager.schedulerClusterID,
    }
    const keepalive = new MemberKeepalive(
      { connection, clock, logger, onConfig: (config) => this.settings.apply(config) },
      {
        sourceType: 'scheduler',
        hostname: host.hostname,
        ip,
        intervalMs: manager.keepAlive.interval,
        register: async (manager, signal) => {
          const answer = await manager.call<RegisterSchedulerResponse>('register scheduler', (client, metadata, options, callback) => client.registerScheduler(request, metadata, options, callback), signal)
          return { clusterId: answer.scheduler?.clusterId ?? 0, config: answer.config }
        },
      },
    )
    const reporter = new HostReporter(
      {
        connection,
        clock,
        logger,
        hosts: () => [...this.store.hosts.values()].map(({ info }) => ({
          hostId: info.id, hostname: info.hostname, ip: info.ip, port: info.uploadPort, idc: info.idc, location: info.location,
          version: info.version, os: info.os, type: info.seed ? 'seed' : 'normal',
        })),
        reporter: () => ({ hostname: host.hostname, ip, clusterId: keepalive.clusterId }),
      },
      { intervalMs: manager.hostReportInterval, minGapMs: HOST_REPORT_MIN_GAP_MS },
    )
    this.managerParts = { connection, keepalive, reporter }
    await keepalive.start()
    await reporter.start()
  }

  private hostsChanged(): void {
    this.managerParts?.reporter.changed()
  }

  /**
   * The gRPC port's credentials. With identities (the default) the scheduler signs capabilities
   * with its own key, certified either by a manager (`security.identityDir`) or by the cluster CA
   * it holds itself, which it creates on first start and serves joins with. Without them, anyone
   * may say anything: that takes --insecure, and a warning.
   */
  private async credentials(): Promise<ServerCredentials> {
    const { security } = this.config
    const logger = this.components.logger
    if (security.insecure) {
      logger.warn('running WITHOUT identities (--insecure): any host on the network can announce itself as a seed, receive clients\' credentials and forge pieces')
      return ServerCredentials.createInsecure()
    }
    const clock = this.components.clock ?? systemClock
    // With managers, the CA is theirs: this scheduler runs on a certificate one of them issued.
    const identityDir = security.identityDir !== '' ? security.identityDir : this.config.manager.addrs.length > 0 ? defaultSchedulerIdentityDir() : ''
    const local = identityDir === '' ? await this.holdCa() : await this.managerIssuedIdentity(identityDir)
    this.useIdentity(local)
    const { credentials, renew } = renewableServerCredentials(local)
    this.renewServerCertificate = renew
    if (identityDir !== '' && this.config.manager.addrs.length > 0) {
      this.trust = new ManagedTrust(
        { clock, logger: logger.child({ component: 'trust' }), onRenewed: (renewed) => this.useIdentity(renewed) },
        { identity: local, identityDir, managerAddrs: this.config.manager.addrs },
      )
      this.trust.onRevoked((hostIds) => this.service.revokeHosts(hostIds))
      await this.trust.start()
    }
    return credentials
  }

  /**
   * Signs capabilities, and shows on its ports, this certificate: the first, or a renewed one
   * (new connections present it; capabilities carry it, so parents check them against it).
   */
  private useIdentity(local: LocalIdentity): void {
    const clock = this.components.clock ?? systemClock
    this.localIdentity = local
    this.capabilities = new PeerCapabilities({
      issuer: new CapabilityIssuer({ clock }, { privateKey: local.privateKey, certDer: fromPem(local.certPem), ttlMs: this.config.scheduler.capabilityTTL }),
      clock,
    })
    this.renewServerCertificate?.(local)
    this.managerParts?.connection.setCredentials(managerChannelCredentials(local))
  }

  /** Holds the cluster CA in `security.pkiDir` (made on first start), certifies itself and serves joins. */
  private async holdCa(): Promise<LocalIdentity> {
    const { security, server } = this.config
    const logger = this.components.logger
    const { pki, created } = await initClusterPki(security.pkiDir)
    if (created) logger.info({ pkiDir: pki.dir }, 'created the cluster CA')
    const local = await issueLocalIdentity(pki.signer, { role: 'scheduler', hostname: certificateHostname(hostname(), 'scheduler'), ips: certificateAddresses(server) })
    const tokens = new JoinTokenStore({ clock: this.components.clock ?? systemClock }, { dir: join(pki.dir, PKI_FILES.tokens) })
    const redeemer = { redeem: async (id: string, secret: string) => ({ role: await tokens.redeem(id, secret), clusterId: 0 }) }
    this.grpcServer.addService(IdentityServiceService, new JoinService({ ca: pki.signer, tokens: redeemer, logger: logger.child({ component: 'join' }) }).handlers())
    logger.info({ pkiDir: pki.dir, hostId: local.identity.hostId }, 'scheduler identity issued by the cluster CA')
    return local
  }

  /**
   * The scheduler certificate a manager issued, from `dir`, or from a manager with the join token
   * on a first start: the CA stays with the managers.
   */
  private async managerIssuedIdentity(dir: string): Promise<LocalIdentity> {
    const { security, manager, server } = this.config
    let local = await readIdentity(dir)
    if (local === undefined && security.joinToken !== '' && manager.addrs.length > 0) {
      local = await joinAny(manager.addrs, { token: security.joinToken, hostname: certificateHostname(hostname(), 'scheduler'), ips: certificateAddresses(server), timeoutMs: JOIN_TIMEOUT_MS })
      await writeIdentity(dir, local)
      this.components.logger.info({ identityDir: dir, hostId: local.identity.hostId }, 'joined the cluster at a manager')
    }
    if (local === undefined) throw new DamselflyError('CONFIG_INVALID', `no identity in ${dir} (security.identityDir): start once with --join-token <token of role scheduler> from the manager`)
    if (local.identity.role !== 'scheduler') throw new DamselflyError('CONFIG_INVALID', `the certificate in ${dir} is for role ${local.identity.role}, not scheduler`)
    this.components.logger.info({ identityDir: dir, hostId: local.identity.hostId, notAfter: local.cert.validTo }, 'scheduler identity from the manager')
    return local
  }

  /** Ends every stream, then stops the servers; safe to call more than once. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      clearInterval(this.gcTimer)
      this.unsubscribeRevocations()
      await this.trust?.stop()
      await this.managerParts?.reporter.stop()
      await this.managerParts?.keepalive.stop()
      this.managerParts?.connection.close()
      await this.core.stop()
      await this.service.stop()
      await shutdownGrpcServer(this.grpcServer)
      await this.operator.stop()
      this.components.logger.info('scheduler stopped')
    })()
    return this.stopping
  }
}
