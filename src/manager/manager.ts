import { hostname } from 'node:os'
import { Server as GrpcServer, ServerCredentials } from '@grpc/grpc-js'
import type { FastifyInstance } from 'fastify'
import type { Registry } from 'prom-client'
import { Agent } from 'undici'
import { systemClock, type Clock } from '../common/clock.js'
import { bindGrpcServer, shutdownGrpcServer } from '../common/grpc-server.js'
import type { Logger } from '../common/logger.js'
import { createMetricsRegistry } from '../common/metrics.js'
import type { Startable } from '../common/startable.js'
import { DamselflyError } from '../protocol/damselfly-error.js'
import { CertificateServiceService, IdentityServiceService } from '../protocol/generated/damselfly/identity/v1/identity.js'
import { ManagerServiceService } from '../protocol/generated/damselfly/manager/v1/manager.js'
import { CallerIdentities, controlPlaneServerCredentials } from '../security/grpc-tls.js'
import { certificateAddresses, certificateHostname } from '../security/identity.js'
import { JoinService } from '../security/join-service.js'
import { issueLocalIdentity, type LocalIdentity } from '../security/local-identity.js'
import { DAY_MS } from '../security/x509.js'
import { AddressPolicy } from '../source/address-policy.js'
import { ImageResolver } from '../source/image-resolver.js'
import { policyConnector } from '../source/policy-connector.js'
import { buildApi } from './api/app.js'
import { builtConsoleDir } from './api/console-files.js'
import type { ScryptParameters } from './auth/password-hasher.js'
import { bootstrapRoot } from './auth/root-bootstrap.js'
import type { ManagerConfig } from './config.js'
import type { ClustersRepository } from './db/clusters-repository.js'
import { openDatabase, type ManagerDatabase } from './db/database.js'
import type { HostsRepository } from './db/hosts-repository.js'
import { migrateToLatest } from './db/migrate.js'
import { SchedulersRepository } from './db/schedulers-repository.js'
import { SeedPeersRepository } from './db/seed-peers-repository.js'
import { ManagerService } from './grpc/manager-service.js'
import { ClusterSchedulers } from './jobs/cluster-schedulers.js'
import { createJobQueue } from './jobs/create-job-queue.js'
import { DownloadJob, type ImageResolver as ImageResolverFn } from './jobs/download-job.js'
import type { JobQueue } from './jobs/job-queue.js'
import { JobRunner } from './jobs/job-runner.js'
import { TaskJob } from './jobs/task-job.js'
import { ManagerMetrics } from './manager-metrics.js'
import { createManagerServices, type ManagerServices } from './manager-services.js'
import { CertificateService } from './trust/certificate-service.js'
import type { CertificatesRepository } from './trust/certificates-repository.js'
import { loadOrCreateClusterCa, type ManagerCa } from './trust/cluster-ca.js'
import type { JoinTokensRepository } from './trust/join-tokens-repository.js'

/** How often a manager sharing jobs through Redis queues unfinished jobs again. */
const JOB_RESUME_INTERVAL_MS = 60_000

export interface ManagerComponents {
  readonly logger: Logger
  readonly clock?: Clock
  /** Where `DAMSELFLY_ROOT_PASSWORD` is read; the process environment unless a test says. */
  readonly env?: Readonly<Record<string, string | undefined>>
  /** Where a generated root password is shown, once: standard output, never the log. */
  readonly printSecret?: (line: string) => void
  /** Lowered only by tests; production hashes passwords with the default cost. */
  readonly scrypt?: ScryptParameters
}

/**
 * The composition root of the manager: the database (migrated at start), the job queue and its
 * runner, the REST app and the gRPC server. Nothing that matters lives only in this process:
 * several managers on one PostgreSQL or MySQL database (and one Redis, for jobs) behave as one.
 * Start order: database, job queue, REST, gRPC, unfinished jobs queued again; stop in reverse.
 */
export class Manager implements Startable {
  readonly registry: Registry
  readonly database: ManagerDatabase
  readonly services: ManagerServices
  readonly schedulers: SchedulersRepository
  readonly seedPeers: SeedPeersRepository
  readonly api: FastifyInstance
  readonly metrics: ManagerMetrics
  /** Who called, by the certificate TLS checked; worked out once per connection. */
  readonly callers = new CallerIdentities({ maxEntries: 10_000 })
  readonly jobQueue: JobQueue
  private readonly runner: JobRunner
  private readonly clusterSchedulers: ClusterSchedulers
  private readonly registryHttp: Agent
  private ca: ManagerCa | undefined
  private local: LocalIdentity | undefined
  private readonly grpcServer = new GrpcServer()
  private sweepTimer: NodeJS.Timeout | undefined
  private resumeTimer: NodeJS.Timeout | undefined
  private sweeping: Promise<void> = Promise.resolve()
  private restAddress: string | undefined
  private grpcAddress: string | undefined
  private stopping: Promise<void> | undefined

  constructor(
    private readonly config: ManagerConfig,
    private readonly components: ManagerComponents,
  ) {
    const clock = components.clock ?? systemClock
    this.registry = createMetricsRegistry('manager')
    this.database = openDatabase(config.database.url, config.server.dataDir)
    this.jobQueue = createJobQueue({ handler: (jobId, signal) => this.runner.run(jobId, signal), logger: components.logger, clock }, config.jobQueue)
    this.schedulers = new SchedulersRepository({ database: this.database, clock })
    this.clusterSchedulers = new ClusterSchedulers({ schedulers: this.schedulers, identity: () => this.local }, { keepaliveTimeoutMs: config.keepalive.timeout })
    this.services = createManagerServices({
      database: this.database,
      clock,
      jobQueue: this.jobQueue,
      liveSchedulers: this.clusterSchedulers,
      logger: components.logger.child({ component: 'live' }),
      onJobCreated: (job) => this.metrics.jobsCreated.inc({ type: job.type }),
    }, {
      sessionTtlMs: config.auth.sessionTTL,
      caPin: () => this.clusterCa.pin,
      ...(components.scrypt === undefined ? {} : { scrypt: components.scrypt }),
    })
    this.seedPeers = new SeedPeersRepository({ database: this.database, clock })
    this.metrics = new ManagerMetrics(this.registry, {
      activeMembers: async () => ({
        schedulers: await this.schedulers.countAlive(config.keepalive.timeout),
        seedPeers: await this.seedPeers.countAlive(config.keepalive.timeout),
      }),
    })
    const { deny, allow } = config.preheat.sourcePolicy
    const policy = new AddressPolicy({ deny, allow, allowKey: 'preheat.sourcePolicy.allow' })
    this.registryHttp = new Agent({ connect: policyConnector({ policy }, {}), keepAliveTimeout: 30_000 })
    const images = new ImageResolver({ dispatcher: this.registryHttp, clock, logger: components.logger }, { tokenCacheSize: 1_000 })
    const jobLogger = components.logger.child({ component: 'jobs' })
    const resolveImage: ImageResolverFn = async (request) => images.resolveImage(request)
    this.runner = new JobRunner({
      jobs: this.services.jobs,
      secrets: this.services.jobSecrets,
      downloads: new DownloadJob({
        jobs: this.services.jobs,
        schedulers: this.clusterSchedulers,
        resolveImage,
        logger: jobLogger,
      }),
      tasks: new TaskJob({ schedulers: this.clusterSchedulers, resolveImage }),
      metrics: this.metrics,
      logger: jobLogger,
    })
    this.api = buildApi({ registry: this.registry, logger: components.logger.child({ component: 'api' }), services: this.services, consoleDir: config.console.dir === '' ? builtConsoleDir() : config.console.dir })
    this.api.addHook('onResponse', async (request, reply) => {
      this.metrics.httpRequests.inc({ method: request.method, route: request.routeOptions.url ?? 'unmatched', status: String(reply.statusCode) })
    })
    const service = new ManagerService(
      {
        clusters: this.clusters, schedulers: this.schedulers, seedPeers: this.seedPeers, hosts: this.services.hosts,
        callers: this.callers, isRevoked: (hostId) => this.certificates.isRevoked(hostId), revokedHostIds: () => this.certificates.revokedHostIds(),
        observe: (method, code, seconds) => {
          this.metrics.grpcRequests.inc({ method, code })
          this.metrics.grpcDurationSeconds.observe({ method }, seconds)
        },
        logger: components.logger.child({ component: 'grpc' }),
      },
      { keepaliveTimeoutMs: config.keepalive.timeout, requireIdentity: !config.security.insecure },
    )
    this.grpcServer.addService(ManagerServiceService, service.handlers())
  }

  get hosts(): HostsRepository {
    return this.services.hosts
  }

  get clusters(): ClustersRepository {
    return this.services.clusters
  }

  get joinTokens(): JoinTokensRepository {
    return this.services.joinTokens
  }

  get certificates(): CertificatesRepository {
    return this.services.certificates
  }

  /** `host:port` of REST, the Open API, `/healthy` and `/metrics`; set once started. */
  get address(): string | undefined {
    return this.restAddress
  }

  /** `host:port` of the gRPC server; set once started. */
  get grpcAddressBound(): string | undefined {
    return this.grpcAddress
  }

  /** The cluster CA, held in the database; set once started (not with `security.insecure`). */
  get clusterCa(): ManagerCa {
    if (this.ca !== undefined) return this.ca
    if (this.config.security.insecure) throw new DamselflyError('INVALID_ARGUMENT', 'this manager runs without a CA (security.insecure): it makes no join tokens and issues no certificates')
    throw new DamselflyError('SHUTTING_DOWN', 'the manager has not started: it has no CA yet')
  }

  /** This manager's own identity, certified by the cluster CA at every start; undefined with `security.insecure`. */
  get identity(): LocalIdentity | undefined {
    return this.local
  }

  async start(): Promise<void> {
    const { server } = this.config
    const logger = this.components.logger
    const applied = await migrateToLatest(this.database)
    if (applied.length > 0) logger.info({ database: this.database.description, migrations: applied }, 'database migrated')
    await this.clusters.ensureDefault()
    const env = this.components.env ?? process.env
    await bootstrapRoot({
      users: this.services.users,
      roles: this.services.roles,
      hasher: this.services.hasher,
      logger,
      printSecret: this.components.printSecret ?? ((line) => process.stdout.write(line)),
    }, { rootPassword: this.config.auth.rootPassword !== '' ? this.config.auth.rootPassword : env['DAMSELFLY_ROOT_PASSWORD'] ?? '' })
    const credentials = await this.credentials()
    await this.jobQueue.start()
    this.restAddress = await this.api.listen({ host: server.rest.listenIP, port: server.rest.port }).then((url) => new URL(url).host)
    this.grpcAddress = await bindGrpcServer(this.grpcServer, server.grpc.listenIP, server.grpc.port, credentials)
    await this.resumeJobs('start')
    if (this.config.jobQueue.redis.url !== '') {
      this.resumeTimer = setInterval(() => {
        this.resumeJobs('periodic').catch((error: unknown) => this.components.logger.warn({ err: error }, 'unfinished jobs not queued again; the next minute tries again'))
      }, JOB_RESUME_INTERVAL_MS)
      this.resumeTimer.unref()
    }
    this.sweepTimer = setInterval(() => {
      this.sweeping = this.sweeping.then(() => this.sweep())
    }, this.config.keepalive.interval)
    this.sweepTimer.unref()
    logger.info({ rest: this.restAddress, grpc: this.grpcAddress, database: this.database.description }, 'manager listening')
  }

  /**
   * The gRPC port's credentials. With identities (the default) the manager holds the cluster CA
   * in the database, certifies itself, redeems join tokens and renews certificates. Without them,
   * anyone may register anything: that takes `security.insecure`, and a warning.
   */
  private async credentials(): Promise<ServerCredentials> {
    const { security, server } = this.config
    const logger = this.components.logger
    if (security.insecure) {
      logger.warn('running WITHOUT identities (security.insecure): any host on the network can register as a scheduler or a seed peer')
      return ServerCredentials.createInsecure()
    }
    const clock = this.components.clock ?? systemClock
    const { ca, created } = await loadOrCreateClusterCa({ database: this.database, clock }, security.importPkiDir === '' ? {} : { importDir: security.importPkiDir })
    if (created !== false) logger.info({ how: created, from: security.importPkiDir || undefined }, 'cluster CA stored in the database')
    this.ca = ca
    this.local = await issueLocalIdentity(ca.signer, { role: 'manager', hostname: certificateHostname(hostname(), 'manager'), ips: certificateAddresses(server.grpc) })
    const validDays = security.certificateValidity / DAY_MS
    const join = new JoinService(
      { ca: ca.signer, tokens: this.joinTokens, logger: logger.child({ component: 'join' }), onIssued: (issued) => this.certificates.record(issued) },
      { validDays },
    )
    this.grpcServer.addService(IdentityServiceService, join.handlers())
    const renewals = new CertificateService(
      { ca: ca.signer, certificates: this.certificates, callerOf: (call) => this.callers.of(call), logger: logger.child({ component: 'certificates' }) },
      { validDays },
    )
    this.grpcServer.addService(CertificateServiceService, renewals.handlers())
    logger.info({ hostId: this.local.identity.hostId, pin: ca.pin }, 'manager identity issued by the cluster CA')
    return controlPlaneServerCredentials(this.local)
  }

  /**
   * Queues again every job not finished: at start, those this manager (in process) was running
   * or holding when it stopped. With BullMQ the queue holds the others, and queuing one again
   * changes nothing, so it runs every minute too: a job BullMQ gave up on (its managers died
   * mid-run more than three times) runs again instead of staying unfinished.
   */
  private async resumeJobs(when: 'start' | 'periodic'): Promise<void> {
    const unfinished = await this.services.jobs.listUnfinished()
    for (const job of unfinished) {
      await this.jobQueue.enqueue(job.id, job.phase === 'scheduled' && job.scheduledAtMs !== undefined ? new Date(job.scheduledAtMs) : undefined)
    }
    if (unfinished.length > 0 && when === 'start') this.components.logger.info({ jobs: unfinished.map((job) => job.id) }, 'unfinished jobs queued again')
  }

  /**
   * Marks inactive the members that stopped keeping alive, for display: discovery already leaves
   * them out by their last keepalive, whichever manager swept last.
   */
  private async sweep(): Promise<void> {
    const timeoutMs = this.config.keepalive.timeout
    try {
      const [schedulers, seedPeers] = await Promise.all([this.schedulers.sweep(timeoutMs), this.seedPeers.sweep(timeoutMs)])
      if (schedulers + seedPeers > 0) this.components.logger.info({ schedulers, seedPeers, timeoutMs }, 'members went inactive')
    } catch (error) {
      this.components.logger.warn({ err: error }, 'inactive-member sweep failed; the next one tries again')
    }
  }

  /** Stops taking calls, waits for those in flight, then closes the database; safe to call more than once. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      clearInterval(this.sweepTimer)
      clearInterval(this.resumeTimer)
      await this.sweeping
      // Running jobs are given up, not failed: another manager, or this one's next start, runs them.
      await this.jobQueue.stop()
      await shutdownGrpcServer(this.grpcServer)
      await this.api.close()
      this.clusterSchedulers.close()
      await this.registryHttp.close()
      await this.database.close()
      this.components.logger.info('manager stopped')
    })()
    return this.stopping
  }
}
