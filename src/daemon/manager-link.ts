import { join } from 'node:path'
import { credentials, type ChannelCredentials } from '@grpc/grpc-js'
import type { Clock } from '../common/clock.js'
import type { Logger } from '../common/logger.js'
import type { Startable } from '../common/startable.js'
import { VERSION } from '../common/version.js'
import { ManagerConnection } from '../manager-client/manager-connection.js'
import { MemberKeepalive } from '../manager-client/member-keepalive.js'
import { SchedulerDiscovery } from '../manager-client/scheduler-discovery.js'
import type { RegisterSeedPeerResponse } from '../protocol/generated/damselfly/manager/v1/manager.js'
import { MANAGER_CHANNEL_OPTIONS, managerChannelCredentials } from '../security/grpc-tls.js'
import type { LocalIdentity } from '../security/local-identity.js'
import type { DaemonConfig } from './config.js'
import { ManagedSchedulerDirectory } from './scheduler-client/scheduler-directory.js'

/** The deadline of one call to a manager. */
const MANAGER_CALL_TIMEOUT_MS = 5_000

/** Where the daemon keeps the last scheduler list a manager gave it, under its data directory. */
export const SCHEDULERS_CACHE_FILE = 'schedulers.json'

/** What the daemon tells the manager about itself; read when the link starts (the upload port is bound by then). */
export interface LinkedHost {
  readonly hostId: string
  readonly hostname: string
  readonly ip: string
  readonly uploadPort: number
  readonly idc: string
  readonly location: string
}

/**
 * The daemon's side of the managers: the scheduler directory they feed (discovery every
 * `manager.refreshInterval`, the last list kept in `<storage.dir>/schedulers.json`), and for a
 * seed peer its registration and keepalive. Start it once the upload server listens.
 */
export class ManagerLink implements Startable {
  readonly directory: ManagedSchedulerDirectory
  private readonly connection: ManagerConnection
  private readonly discovery: SchedulerDiscovery
  private readonly seedKeepalive: MemberKeepalive | undefined
  private host: LinkedHost | undefined

  constructor(
    components: { logger: Logger; clock: Clock; identity: LocalIdentity | undefined; host: () => LinkedHost },
    config: Pick<DaemonConfig, 'manager' | 'scheduler' | 'storage' | 'seedPeer'>,
  ) {
    const logger = components.logger
    const hostNow = (): LinkedHost => (this.host ??= components.host())
    this.connection = new ManagerConnection({
      addresses: config.manager.addrs,
      credentials: components.identity === undefined ? credentials.createInsecure() : managerChannelCredentials(components.identity),
      channelOptions: MANAGER_CHANNEL_OPTIONS,
      callTimeoutMs: MANAGER_CALL_TIMEOUT_MS,
    })
    this.directory = new ManagedSchedulerDirectory({ logger }, { cacheFile: join(config.storage.dir, SCHEDULERS_CACHE_FILE), initial: config.scheduler.addrs })
    this.discovery = new SchedulerDiscovery(
      { connection: this.connection, clock: components.clock, logger, onChange: (found) => this.directory.update(found) },
      {
        intervalMs: config.manager.refreshInterval,
        host: () => {
          const host = hostNow()
          return { hostname: host.hostname, ip: host.ip, idc: host.idc, location: host.location, version: VERSION, hostId: host.hostId }
        },
      },
    )
    if (!config.seedPeer.enable) return
    const seed = config.manager.seedPeer
    this.seedKeepalive = new MemberKeepalive(
      { connection: this.connection, clock: components.clock, logger },
      {
        sourceType: 'seed-peer',
        get hostname() {
          return hostNow().hostname
        },
        get ip() {
          return hostNow().ip
        },
        intervalMs: seed.keepAlive.interval,
        register: async (connection, signal) => {
          const host = hostNow()
          const request = {
            hostname: host.hostname, ip: host.ip, port: host.uploadPort, type: seed.type, idc: host.idc,
            location: host.location, hostId: host.hostId, clusterId: seed.clusterID,
          }
          const answer = await connection.call<RegisterSeedPeerResponse>('register seed peer', (client, metadata, options, callback) => client.registerSeedPeer(request, metadata, options, callback), signal)
          return { clusterId: answer.seedPeer?.clusterId ?? 0, config: undefined }
        },
      },
    )
  }

  /** Calls to the managers from now on show these credentials (a renewed certificate). */
  setCredentials(credentials: ChannelCredentials): void {
    this.connection.setCredentials(credentials)
  }

  /** Loads the last known schedulers, asks a manager once (not failing when none answers), and starts the loops. */
  async start(): Promise<void> {
    await this.directory.start()
    await this.discovery.start()
    await this.seedKeepalive?.start()
  }

  async stop(): Promise<void> {
    await this.seedKeepalive?.stop()
    await this.discovery.stop()
    await this.directory.stop()
    this.connection.close()
  }
}
