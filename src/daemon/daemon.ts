import { readFile } from 'node:fs/promises'
import { platform } from 'node:os'
import { rootCertificates } from 'node:tls'
import { credentials } from '@grpc/grpc-js'
import { Agent } from 'undici'
import type { Registry } from 'prom-client'
import { systemClock, type Clock } from '../common/clock.js'
import { endSafeConnector } from '../common/end-safe-connector.js'
import type { Logger } from '../common/logger.js'
import { createMetricsRegistry } from '../common/metrics.js'
import { OperatorServer } from '../common/operator-server.js'
import type { Startable } from '../common/startable.js'
import { TokenBucket } from '../common/token-bucket.js'
import { VERSION } from '../common/version.js'
import { DamselflyError, toDamselflyError } from '../protocol/damselfly-error.js'
import type { HostId } from '../protocol/ids.js'
import { CapabilityVerifier } from '../security/capability.js'
import { managerChannelCredentials, schedulerChannelCredentials } from '../security/grpc-tls.js'
import { parentClientTlsOptions, uploadServerTlsOptions } from '../security/peer-tls.js'
import type { LocalIdentity } from '../security/local-identity.js'
import { ManagedTrust } from '../security/managed-trust.js'
import { NO_REVOCATIONS } from '../security/revocation-watcher.js'
import type { Download } from '../protocol/generated/damselfly/scheduler/v1/scheduler.js'
import { AddressPolicy } from '../source/address-policy.js'
import { HttpSource, type HttpSourceInit } from '../source/http-source.js'
import { SourceRegistry } from '../source/source-registry.js'
import { ensureFreeSpace } from '../storage/disk-space.js'
import { FileContentStore } from '../storage/file-content-store.js'
import { GarbageCollector } from '../storage/garbage-collector.js'
import { LocalApiServer } from './api/local-api-server.js'
import type { DaemonConfig } from './config.js'
import { DaemonMetrics } from './daemon-metrics.js'
import { parseSchedulerDownload } from './download/download-request.js'
import { TaskManager } from './download/task-manager.js'
import { LeafCertificates } from './proxy/certificate-authority.js'
import { ProxyServer, type HttpsInterception } from './proxy/proxy-server.js'
import { identityDirOf, resolveHostIdentity } from './host-identity.js'
import { PIECE_CLIENT_DEFAULTS, PieceClient } from './download/piece-client.js'
import { SourceSlots } from './download/source-slots.js'
import { ManagerLink } from './manager-link.js'
import { HostCommandHandler } from './host-commands/host-command-handler.js'
import { HostAnnouncer, hostIdFor } from './scheduler-client/host-announcer.js'
import { advertisedIp, uploadCapacityBytesPerSecond } from './scheduler-client/host-info.js'
import { StaticSchedulerDirectory } from './scheduler-client/scheduler-directory.js'
import { SchedulerPool } from './scheduler-client/scheduler-pool.js'
import { CapabilityAccess, OPEN_ACCESS } from './upload/piece-access.js'
import { UploadServer } from './upload/upload-server.js'

async function readConfigFile(path: string, key: string): Promise<string> {
  try {
    return await readFile(path, 'utf8')
  } catch (cause) {
    throw new DamselflyError('CONFIG_INVALID', `cannot read ${key} ${path}: ${(cause as Error).message}`, { cause })
  }
}

/**
 * The composition root of dfdaemon: builds every part from the resolved config and owns the
 * start and stop order (storage first up and last down; the local API last up and first down).
 */
export class Daemon implements Startable {
  readonly registry: Registry
  readonly metrics: DaemonMetrics
  readonly store: FileContentStore
  readonly tasks: TaskManager
  readonly uploadServer: UploadServer | undefined
  private readonly operator: OperatorServer
  private readonly gc: GarbageCollector
  private readonly localApi: LocalApiServer
  private readonly sources: SourceRegistry
  private readonly sourcesForOtherHosts: SourceRegistry
  private readonly schedulers: SchedulerPool
  private readonly pieces: PieceClient
  private readonly announcer: HostAnnouncer
  /** The manager's jobs on this host: download_task, cancel, stat_task, delete_task from the schedulers. */
  private readonly commands: HostCommandHandler
  /** The managers' side: the scheduler directory they feed, a seed peer's registration; undefined without `manager.addrs`. */
  private readonly managerLink: ManagerLink | undefined
  /** Renewal of this host's certificate and the revoked hosts; undefined without an identity or a manager. */
  private readonly trust: ManagedTrust | undefined
  readonly proxy: ProxyServer
  private readonly registryHttp: Agent
  private readonly ip: string
  /** What the host tells the scheduler it can upload per second (host-info.ts). */
  private readonly uploadCapacity: number
  /** Known once the upload server listens: without an identity the id includes its port. */
  private hostIdValue: HostId | undefined
  private readonly started: Startable[] = []
  private stopping: Promise<void> | undefined

  static async create(config: DaemonConfig, components: { logger: Logger; clock?: Clock }): Promise<Daemon> {
    const identity = await resolveHostIdentity(config, advertisedIp(config.host.ip, config.upload.server.ip), components.logger)
    const caCertPem = config.source.caCert === '' ? undefined : await readConfigFile(config.source.caCert, 'source.caCert')
    let interception: HttpsInterception | undefined
    const hijack = config.proxy.hijackHTTPS
    if (hijack.hosts.length > 0) {
      const [interceptionCaPem, caKeyPem] = await Promise.all([readConfigFile(hijack.cert, 'proxy.hijackHTTPS.cert'), readConfigFile(hijack.key, 'proxy.hijackHTTPS.key')])
      interception = { hosts: hijack.hosts.map((host) => new RegExp(host)), certificates: new LeafCertificates({ clock: components.clock ?? systemClock }, { caCertPem: interceptionCaPem, caKeyPem }) }
    }
    return new Daemon(config, components, caCertPem, interception, identity)
  }

  private constructor(
    private readonly config: DaemonConfig,
    private readonly components: { logger: Logger; clock?: Clock },
    caCertPem: string | undefined,
    interception: HttpsInterception | undefined,
    /** Who this host is to the cluster; undefined when it runs --insecure or stands alone. */
    private readonly identity: LocalIdentity | undefined,
  ) {
    const clock = components.clock ?? systemClock
    const logger = components.logger
    this.registry = createMetricsRegistry('dfdaemon')
    this.metrics = new DaemonMetrics(this.registry)
    this.store = new FileContentStore({ logger: logger.child({ component: 'storage' }), clock }, { dataDir: config.storage.dir })
    this.gc = new GarbageCollector(
      { store: this.store, clock, logger: logger.child({ component: 'gc' }), onEvict: (reason) => this.metrics.gcEvictions.inc({ reason }) },
      {
        dataDir: config.storage.dir,
        intervalMs: config.gc.interval,
        taskTtlMs: config.gc.policy.taskTTL,
        highThresholdPercent: config.gc.policy.distHighThresholdPercent,
        lowThresholdPercent: config.gc.policy.distLowThresholdPercent,
        quotaBytes: config.gc.policy.quota,
      },
    )
    const httpInit: HttpSourceInit = {
      caCertPem,
      insecureSkipVerify: config.source.insecureSkipVerify,
      connectTimeoutMs: config.source.connectTimeout,
      headersTimeoutMs: config.source.headerTimeout,
      bodyIdleTimeoutMs: config.download.pieceTimeout,
    }
    this.sources = new SourceRegistry([new HttpSource({ logger, clock }, httpInit)])
    // Seed tasks come from the scheduler on behalf of any host: without a policy, any peer could
    // make this host fetch from its own loopback or the cloud metadata service.
    const { deny, allow } = config.seedPeer.sourcePolicy
    const addressPolicy = new AddressPolicy({ deny, allow, allowKey: 'seedPeer.sourcePolicy.allow' })
    this.sourcesForOtherHosts = new SourceRegistry([new HttpSource({ logger, clock }, { ...httpInit, addressPolicy })])
    const reserveBytes = config.storage.reservedSpace
    this.ip = advertisedIp(config.host.ip, config.upload.server.ip)
    this.uploadCapacity = uploadCapacityBytesPerSecond(config.upload, this.ip)
    // A certificate from the managers is kept current by them: renewed, and revoked hosts refused.
    this.trust = identity === undefined || config.manager.addrs.length === 0 ? undefined : new ManagedTrust(
      { clock, logger: logger.child({ component: 'trust' }), onRenewed: (renewed) => this.useIdentity(renewed) },
      { identity, identityDir: identityDirOf(config), managerAddrs: config.manager.addrs },
    )
    this.managerLink = config.manager.addrs.length === 0 ? undefined : new ManagerLink(
      {
        logger: logger.child({ component: 'manager-client' }),
        clock,
        identity,
        host: () => ({
          hostId: this.hostId, hostname: config.host.hostname, ip: this.ip, uploadPort: this.uploadPort, idc: config.host.idc, location: config.host.location,
        }),
      },
      config,
    )
    this.schedulers = new SchedulerPool({ clock }, {
      directory: this.managerLink?.directory ?? new StaticSchedulerDirectory(config.scheduler.addrs),
      credentials: identity === undefined ? credentials.createInsecure() : schedulerChannelCredentials(identity),
      waits: { registerTimeoutMs: config.scheduler.registerTimeout, scheduleTimeoutMs: config.scheduler.scheduleTimeout },
    })
    // Parents are hosts of the cluster: this host shows its certificate, and checks theirs, over TLS.
    this.pieces = new PieceClient({ ...PIECE_CLIENT_DEFAULTS, tls: identity === undefined ? undefined : parentClientTlsOptions(identity) })
    this.tasks = new TaskManager(
      {
        store: this.store,
        sources: this.sources,
        sourcesForOtherHosts: this.sourcesForOtherHosts,
        limiters: {
          download: new TokenBucket({ clock }, { rateBytesPerSecond: config.download.rateLimit }),
          source: new TokenBucket({ clock }, { rateBytesPerSecond: config.source.rateLimit }),
        },
        sourceSlots: new SourceSlots({ limit: config.source.concurrentLimit }),
        ensureSpace: async (neededBytes) => {
          if (neededBytes <= 0) return
          await this.gc.makeRoom(neededBytes, reserveBytes)
          await ensureFreeSpace(config.storage.dir, neededBytes, reserveBytes)
        },
        metrics: this.metrics,
        logger: logger.child({ component: 'download' }),
        clock,
        peers: { pool: this.schedulers, hostId: () => this.hostId, pieces: this.pieces, identity },
      },
      {
        concurrentPieceCount: config.download.concurrentPieceCount,
        retryCount: config.source.retryCount,
        filteredQueryParams: config.source.filteredQueryParams,
        blobAccessCacheTtlMs: config.proxy.registryMirror.checkAccess ? config.proxy.registryMirror.accessCacheTTL : undefined,
      },
    )
    this.operator = new OperatorServer(
      { registry: this.registry, logger: logger.child({ component: 'metrics' }) },
      { host: config.metrics.server.ip, port: config.metrics.server.port },
    )
    // Pieces are served only within a cluster: a daemon without schedulers has no peers to serve.
    const uploadTls = identity !== undefined && config.upload.server.tls
    this.uploadServer = !this.schedulers.enabled ? undefined : new UploadServer(
      {
        store: this.store,
        limiter: new TokenBucket({ clock }, { rateBytesPerSecond: config.upload.rateLimit }),
        access: identity === undefined
          ? OPEN_ACCESS
          : new CapabilityAccess({ verifier: new CapabilityVerifier({ caCert: identity.caCert, clock }), clock, revocations: this.trust ?? NO_REVOCATIONS }, { tls: uploadTls }),
        metrics: this.metrics,
        logger: logger.child({ component: 'upload' }),
      },
      {
        host: config.upload.server.ip || '0.0.0.0',
        port: config.upload.server.port,
        tls: uploadTls ? uploadServerTlsOptions(identity) : undefined,
        disableShared: config.upload.disableShared,
        concurrentLimit: config.upload.concurrentLimit,
        seedUploadsPerTask: config.seedPeer.enable ? config.seedPeer.taskUploadLimit : undefined,
      },
    )
    this.commands = new HostCommandHandler(
      { tasks: this.tasks, store: this.store, metrics: this.metrics, logger: logger.child({ component: 'host-commands' }), clock },
      { outputDir: config.distribution.outputDir },
    )
    this.announcer = new HostAnnouncer(
      {
        pool: this.schedulers,
        host: () => ({
          id: this.hostId,
          ip: this.ip,
          hostname: config.host.hostname,
          uploadPort: this.uploadPort,
          idc: config.host.idc,
          location: config.host.location,
          seed: config.seedPeer.enable,
          disableShared: config.upload.disableShared,
          concurrentUploadLimit: config.upload.concurrentLimit,
          concurrentUploadCount: this.uploadServer?.activeUploads ?? 0,
          uploadCapacityBytesPerSecond: this.uploadCapacity,
          uploadTls,
          version: VERSION,
          os: platform(),
        }),
        onSeedTask: (download, scheduler) => {
          this.seed(download, scheduler)
        },
        onCommand: (command, channel) => {
          this.commands.handle(command, channel)
        },
        logger: logger.child({ component: 'announcer' }),
        clock,
      },
      { intervalMs: config.scheduler.announceInterval },
    )
    this.registryHttp = new Agent({
      connect: endSafeConnector({
        rejectUnauthorized: !config.source.insecureSkipVerify,
        ...(caCertPem === undefined ? {} : { ca: [...rootCertificates, caCertPem] }),
      }),
      keepAliveTimeout: 30_000,
    })
    this.proxy = new ProxyServer(
      { tasks: this.tasks, dispatcher: this.registryHttp, metrics: this.metrics, logger: logger.child({ component: 'proxy' }) },
      {
        host: config.proxy.server.ip || '0.0.0.0',
        port: config.proxy.server.port,
        maxConcurrency: config.proxy.maxConcurrency,
        defaultRegistry: config.proxy.registryMirror.addr,
        allowedRegistries: config.proxy.registryMirror.allowedRegistries,
        anyRegistryFromLoopback: config.proxy.registryMirror.anyRegistryFromLoopback,
        rules: config.proxy.rules.map((rule) => new RegExp(rule.regex)),
        interception,
      },
    )
    this.localApi = new LocalApiServer(
      { tasks: this.tasks, store: this.store, metrics: this.metrics, registry: this.registry, logger: logger.child({ component: 'local-api' }) },
      { socketPath: config.download.server.socketPath, socketMode: config.download.server.socketMode },
    )
  }

  /**
   * This host's id. Read only once the announcer starts: downloads begin after it (the local API
   * and the proxy start later, seed tasks come through it).
   */
  private get hostId(): HostId {
    if (this.hostIdValue === undefined) throw new DamselflyError('INTERNAL', 'the host id is read before the daemon knows it')
    return this.hostIdValue
  }

  /** The upload server's bound port; 0 when this daemon serves no peers. */
  private get uploadPort(): number {
    return this.uploadServer === undefined ? 0 : Number(this.uploadServer.address.split(':').pop())
  }

  async start(): Promise<void> {
    await this.store.open()
    const order: Startable[] = [
      ...(this.trust === undefined ? [] : [this.trust]), this.gc, this.operator, this.tasks, this.commands, ...(this.uploadServer === undefined ? [] : [this.uploadServer]),
      ...(this.managerLink === undefined ? [] : [this.managerLink]), this.announcer, this.proxy, this.localApi,
    ]
    for (const part of order) {
      // Without an identity the host id includes the upload port, known only once the upload server listens.
      if (part === this.announcer || part === this.managerLink) this.hostIdValue ??= this.identity?.identity.hostId ?? hostIdFor(this.config.host.hostname, this.ip, this.uploadPort)
      await part.start()
      this.started.push(part)
    }
    this.components.logger.info(
      { dataDir: this.config.storage.dir, socket: this.config.download.server.socketPath, upload: this.uploadServer?.address, hostId: this.hostIdValue },
      'dfdaemon started',
    )
  }

  /**
   * Switches every port that shows this host's certificate to a renewed one: new connections to
   * schedulers, managers and parents, and new connections to the upload server. Open ones keep
   * theirs; the key, and so the host id, stay the same.
   */
  private useIdentity(renewed: LocalIdentity): void {
    this.schedulers.setCredentials(schedulerChannelCredentials(renewed))
    this.pieces.setTls(parentClientTlsOptions(renewed))
    if (this.config.upload.server.tls) this.uploadServer?.setTls(uploadServerTlsOptions(renewed))
    this.managerLink?.setCredentials(managerChannelCredentials(renewed))
  }

  /** `host:port` of `/metrics` and `/healthy`, once started. */
  get metricsAddress(): string {
    return this.operator.address
  }

  /** A scheduler asked this seed peer to fetch a task from the source, so it can be the task's first parent. */
  private seed(download: Download, scheduler: string): void {
    const logger = this.components.logger.child({ component: 'seed' })
    try {
      const request = parseSchedulerDownload(download)
      // Registered with the scheduler that asked: its peers wait for this seed there.
      const handle = this.tasks.download({ ...request, onBehalfOf: 'other-host', scheduler })
      logger.info({ taskId: handle.taskId }, 'seeding task')
      handle.done.catch((error: unknown) => {
        const failure = toDamselflyError(error)
        // The message names address, reason, printable URL and key; a stack adds nothing.
        if (failure.code === 'SOURCE_NOT_ALLOWED') logger.warn({ taskId: handle.taskId, code: failure.code, reason: failure.message }, 'seed source refused')
        else logger.warn({ err: error, taskId: handle.taskId }, 'seeding failed')
      })
    } catch (error) {
      logger.warn({ err: error }, 'refused a seed task')
    }
  }

  /** Stops in reverse start order; safe to call more than once. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      for (const part of this.started.reverse()) await part.stop()
      await this.sources.close()
      await this.sourcesForOtherHosts.close()
      this.schedulers.close()
      this.pieces.close()
      await this.registryHttp.close()
      await this.store.close()
      this.components.logger.info('dfdaemon stopped')
    })()
    return this.stopping
  }
}
