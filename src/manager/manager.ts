import { Server as GrpcServer, ServerCredentials } from '@grpc/grpc-js'
import type { FastifyInstance } from 'fastify'
import type { Registry } from 'prom-client'
import { systemClock, type Clock } from '../common/clock.js'
import type { Logger } from '../common/logger.js'
import { createMetricsRegistry } from '../common/metrics.js'
import type { Startable } from '../common/startable.js'
import { DamselflyError } from '../protocol/damselfly-error.js'
import { buildApi } from './api/app.js'
import type { ScryptParameters } from './auth/password-hasher.js'
import { bootstrapRoot } from './auth/root-bootstrap.js'
import type { ManagerConfig } from './config.js'
import type { ClustersRepository } from './db/clusters-repository.js'
import { openDatabase, type ManagerDatabase } from './db/database.js'
import { migrateToLatest } from './db/migrate.js'
import { createManagerServices, type ManagerServices } from './manager-services.js'

/** Time the gRPC server gives open calls to finish on stop before cutting them. */
const SHUTDOWN_GRACE_MS = 2000

function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`
}

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
 * The composition root of the manager: the database (migrated at start), the REST app and the
 * gRPC server. Nothing that matters lives only in this process: several managers on one
 * PostgreSQL or MySQL database behave as one. Start order: database, REST, gRPC; stop in reverse.
 */
export class Manager implements Startable {
  readonly registry: Registry
  readonly database: ManagerDatabase
  readonly clusters: ClustersRepository
  readonly services: ManagerServices
  readonly api: FastifyInstance
  private readonly grpcServer = new GrpcServer()
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
    this.services = createManagerServices({ database: this.database, clock }, {
      sessionTtlMs: config.auth.sessionTTL,
      ...(components.scrypt === undefined ? {} : { scrypt: components.scrypt }),
    })
    this.clusters = this.services.clusters
    this.api = buildApi({ registry: this.registry, logger: components.logger.child({ component: 'api' }), services: this.services })
  }

  /** `host:port` of REST, the Open API, `/healthy` and `/metrics`; set once started. */
  get address(): string | undefined {
    return this.restAddress
  }

  /** `host:port` of the gRPC server; set once started. */
  get grpcAddressBound(): string | undefined {
    return this.grpcAddress
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
    this.restAddress = await this.api.listen({ host: server.rest.listenIP, port: server.rest.port }).then((url) => new URL(url).host)
    const port = await new Promise<number>((resolve, reject) => {
      this.grpcServer.bindAsync(hostPort(server.grpc.listenIP, server.grpc.port), ServerCredentials.createInsecure(), (error, bound) => {
        if (error === null) resolve(bound)
        else reject(new DamselflyError('INVALID_ARGUMENT', `cannot listen on ${hostPort(server.grpc.listenIP, server.grpc.port)}: ${error.message}`, { cause: error }))
      })
    })
    this.grpcAddress = hostPort(server.grpc.listenIP, port)
    logger.info({ rest: this.restAddress, grpc: this.grpcAddress, database: this.database.description }, 'manager listening')
  }

  /** Stops taking calls, waits for those in flight, then closes the database; safe to call more than once. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          this.grpcServer.forceShutdown()
          resolve()
        }, SHUTDOWN_GRACE_MS)
        timer.unref()
        this.grpcServer.tryShutdown(() => {
          clearTimeout(timer)
          resolve()
        })
      })
      await this.api.close()
      await this.database.close()
      this.components.logger.info('manager stopped')
    })()
    return this.stopping
  }
}
