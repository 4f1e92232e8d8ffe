import type { Clock } from '../common/clock.js'
import type { Logger } from '../common/logger.js'
import type { Startable } from '../common/startable.js'
import { toDamselflyError } from '../protocol/damselfly-error.js'
import { SourceType, type ClusterConfig, type KeepAliveResponse } from '../protocol/generated/damselfly/manager/v1/manager.js'
import type { ManagerCaller } from './manager-connection.js'
import { retryDelayMs } from './retry-delay.js'

/** What a registration gives: the member's cluster, and the cluster's config when the manager sends it. */
export interface Registered {
  readonly clusterId: number
  readonly config: ClusterConfig | undefined
}

export interface MemberKeepaliveInit {
  readonly sourceType: 'scheduler' | 'seed-peer'
  /** The member's key at the manager, with its cluster: the same as it registers with. */
  readonly hostname: string
  readonly ip: string
  /** Between keepalives; also the longest wait between retries. */
  readonly intervalMs: number
  /** Registers this member (RegisterScheduler or RegisterSeedPeer); called again whenever the manager forgot it. */
  readonly register: (connection: ManagerCaller, signal: AbortSignal) => Promise<Registered>
}

/**
 * Keeps one member (a scheduler or a seed peer) registered and alive at the managers: registers,
 * then keeps alive every `intervalMs`; retries with backoff while no manager answers, and
 * registers again when a manager says it does not know the member (its database was reset, or
 * it went inactive). Each cluster config that differs from the last goes to `onConfig`: that is
 * how a change made at the manager reaches a scheduler within one interval.
 */
export class MemberKeepalive implements Startable {
  private readonly abort = new AbortController()
  private loop: Promise<void> | undefined
  private clusterIdValue: number | undefined
  /** The last config handed on, as JSON: two changes within one millisecond share a version. */
  private lastConfig: string | undefined

  constructor(
    private readonly components: {
      connection: ManagerCaller
      clock: Clock
      logger: Logger
      onConfig?: (config: ClusterConfig) => void
    },
    private readonly init: MemberKeepaliveInit,
  ) {}

  /** The cluster the member belongs to; undefined until it has registered. */
  get clusterId(): number | undefined {
    return this.clusterIdValue
  }

  /** Starts the loop; never waits for a manager, so a process comes up with every manager down. */
  start(): Promise<void> {
    this.loop ??= this.run()
    return Promise.resolve()
  }

  async stop(): Promise<void> {
    this.abort.abort(new Error('stopped'))
    await this.loop
  }

  private async run(): Promise<void> {
    const { clock, logger } = this.components
    const signal = this.abort.signal
    let failures = 0
    while (!signal.aborted) {
      let delayMs = this.init.intervalMs
      try {
        await this.once(signal)
        failures = 0
      } catch (error) {
        if (signal.aborted) break
        const failure = toDamselflyError(error)
        if (failure.code === 'NOT_FOUND' && this.clusterIdValue !== undefined) {
          logger.info({ reason: failure.message }, 'the manager does not know this member; registering again')
          this.clusterIdValue = undefined
          continue
        }
        failures++
        delayMs = retryDelayMs(failures, this.init.intervalMs)
        // The first failure, then one in ten: a manager down for an hour should not fill the log.
        if (failures === 1 || failures % 10 === 0) logger.warn({ code: failure.code, reason: failure.message, failures, retryInMs: delayMs }, 'manager keepalive failed')
      }
      await clock.sleep(delayMs, signal).catch(() => undefined)
    }
  }

  private async once(signal: AbortSignal): Promise<void> {
    const { connection, logger } = this.components
    if (this.clusterIdValue === undefined) {
      const registered = await this.init.register(connection, signal)
      this.clusterIdValue = registered.clusterId
      logger.info({ clusterId: registered.clusterId, manager: connection.addresses }, 'registered with the manager')
      if (registered.config !== undefined) this.apply(registered.config)
      return
    }
    const request = {
      sourceType: this.init.sourceType === 'scheduler' ? SourceType.SOURCE_TYPE_SCHEDULER : SourceType.SOURCE_TYPE_SEED_PEER,
      hostname: this.init.hostname,
      ip: this.init.ip,
      clusterId: this.clusterIdValue,
    }
    const response = await connection.call<KeepAliveResponse>('keepalive', (client, metadata, options, callback) => client.keepAlive(request, metadata, options, callback), signal)
    if (response.config !== undefined) this.apply(response.config)
  }

  private apply(config: ClusterConfig): void {
    const text = JSON.stringify(config)
    if (text === this.lastConfig) return
    this.lastConfig = text
    this.components.onConfig?.(config)
  }
}
