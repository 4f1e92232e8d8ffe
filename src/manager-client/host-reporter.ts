import type { Clock } from '../common/clock.js'
import type { Logger } from '../common/logger.js'
import type { Startable } from '../common/startable.js'
import { toDamselflyError } from '../protocol/damselfly-error.js'
import type { ReportedHost, ReportHostsResponse } from '../protocol/generated/damselfly/manager/v1/manager.js'
import type { ManagerConnection } from './manager-connection.js'

/** Hosts sent in one ReportHosts call at most; the manager refuses more. */
const HOSTS_PER_REPORT = 5_000

/**
 * Sends the hosts a scheduler knows to the managers every `intervalMs`, and soon after `changed()`
 * (at most once per `minGapMs`), once the scheduler has registered (`clusterId` known).
 */
export class HostReporter implements Startable {
  private readonly abort = new AbortController()
  private loop: Promise<void> | undefined
  private wake: (() => void) | undefined
  private dirty = false

  constructor(
    private readonly components: {
      connection: ManagerConnection
      clock: Clock
      logger: Logger
      hosts: () => readonly ReportedHost[]
      /** The reporter's key at the manager; undefined while it is not registered. */
      reporter: () => { hostname: string; ip: string; clusterId: number | undefined }
    },
    private readonly init: { intervalMs: number; minGapMs: number },
  ) {}

  start(): Promise<void> {
    this.loop ??= this.run()
    return Promise.resolve()
  }

  async stop(): Promise<void> {
    this.abort.abort(new Error('stopped'))
    this.wake?.()
    await this.loop
  }

  /** The set of hosts changed: report within `minGapMs`. Cheap to call on every announce. */
  changed(): void {
    if (this.dirty) return
    this.dirty = true
    this.wake?.()
  }

  private async run(): Promise<void> {
    const { clock, logger } = this.components
    const signal = this.abort.signal
    while (!signal.aborted) {
      if (!this.dirty) {
        await Promise.race([
          clock.sleep(this.init.intervalMs, signal).catch(() => undefined),
          new Promise<void>((resolve) => (this.wake = resolve)),
        ])
      }
      if (signal.aborted) break
      try {
        if (await this.report(signal)) await clock.sleep(this.init.minGapMs, signal).catch(() => undefined)
      } catch (error) {
        if (signal.aborted) break
        const failure = toDamselflyError(error)
        logger.warn({ code: failure.code, reason: failure.message }, 'reporting hosts to the manager failed; the next report carries them')
      }
    }
  }

  /** Sends every host; false when there was nobody to send them as (not registered yet). */
  private async report(signal: AbortSignal): Promise<boolean> {
    const { hostname, ip, clusterId } = this.components.reporter()
    if (clusterId === undefined) return false
    this.dirty = false
    const hosts = this.components.hosts()
    for (let start = 0; start === 0 || start < hosts.length; start += HOSTS_PER_REPORT) {
      const request = { hostname, ip, clusterId, hosts: hosts.slice(start, start + HOSTS_PER_REPORT) }
      await this.components.connection.call<ReportHostsResponse>('report hosts', (client, metadata, options, callback) => client.reportHosts(request, metadata, options, callback), signal)
    }
    return true
  }
}
