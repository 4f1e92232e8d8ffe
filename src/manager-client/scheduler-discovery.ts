import type { Clock } from '../common/clock.js'
import type { Logger } from '../common/logger.js'
import { hostPort } from '../common/host-port.js'
import type { Startable } from '../common/startable.js'
import { toDamselflyError } from '../protocol/damselfly-error.js'
import type { ListSchedulersRequest, ListSchedulersResponse } from '../protocol/generated/damselfly/manager/v1/manager.js'
import type { ManagerCaller } from './manager-connection.js'
import { retryDelayMs } from './retry-delay.js'

/** What discovery found: the schedulers (`host:port`) of the cluster that serves this host. */
export interface DiscoveredCluster {
  readonly clusterId: number
  /** Sorted, so two answers with the same members compare equal. */
  readonly schedulers: readonly string[]
}

function toDiscovered(response: ListSchedulersResponse): DiscoveredCluster {
  return {
    clusterId: response.clusterId,
    schedulers: [...new Set(response.schedulers.map((scheduler) => hostPort(scheduler.ip, scheduler.port)))].sort(),
  }
}

/**
 * Asks the managers every `intervalMs` which schedulers serve this host, and hands every answer
 * that differs from the last to `onChange`. While no manager answers it says nothing, so its
 * listener keeps the last list it had.
 */
export class SchedulerDiscovery implements Startable {
  private readonly abort = new AbortController()
  private loop: Promise<void> | undefined
  private last: string | undefined

  constructor(
    private readonly components: {
      connection: ManagerCaller
      clock: Clock
      logger: Logger
      onChange: (found: DiscoveredCluster) => void
    },
    private readonly init: {
      intervalMs: number
      /** Who is asking: hostname, address, IDC, location and version, for the manager to match against cluster scopes. */
      host: () => ListSchedulersRequest
    },
  ) {}

  /** Asks once (so a daemon starts with the list when a manager answers), then keeps asking in the background. */
  async start(): Promise<void> {
    if (this.loop !== undefined) return
    const first = await this.poll(this.abort.signal).then(() => true, (error: unknown) => {
      this.components.logger.warn({ err: toDamselflyError(error) }, 'scheduler discovery failed; keeping the last known schedulers')
      return false
    })
    this.loop = this.run(first ? 0 : 1)
  }

  async stop(): Promise<void> {
    this.abort.abort(new Error('stopped'))
    await this.loop
  }

  private async run(initialFailures: number): Promise<void> {
    const { clock, logger } = this.components
    const signal = this.abort.signal
    let failures = initialFailures
    while (!signal.aborted) {
      await clock.sleep(failures === 0 ? this.init.intervalMs : retryDelayMs(failures, this.init.intervalMs), signal).catch(() => undefined)
      if (signal.aborted) break
      try {
        await this.poll(signal)
        failures = 0
      } catch (error) {
        if (signal.aborted) break
        failures++
        const failure = toDamselflyError(error)
        if (failures === 1 || failures % 10 === 0) logger.warn({ code: failure.code, reason: failure.message, failures }, 'scheduler discovery failed; keeping the last known schedulers')
      }
    }
  }

  private async poll(signal: AbortSignal): Promise<void> {
    const request = this.init.host()
    const response = await this.components.connection.call<ListSchedulersResponse>(
      'list schedulers', (client, metadata, options, callback) => client.listSchedulers(request, metadata, options, callback), signal,
    )
    const found = toDiscovered(response)
    const key = JSON.stringify(found)
    if (key === this.last) return
    this.last = key
    this.components.logger.info({ clusterId: found.clusterId, schedulers: found.schedulers }, 'schedulers discovered')
    this.components.onChange(found)
  }
}
