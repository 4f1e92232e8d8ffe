import type { Clock } from '../common/clock.js'
import type { Logger } from '../common/logger.js'
import type { Startable } from '../common/startable.js'
import { toDamselflyError } from '../protocol/damselfly-error.js'
import type { ReportedHost, ReportHostsResponse } from '../protocol/generated/damselfly/manager/v1/manager.js'
import type { ManagerCaller } from './manager-connection.js'

/** Hosts sent in one ReportHosts call at most; the manager refuses more. */
const HOSTS_PER_REPORT = 5_000

/**
 * Sends the hosts a scheduler knows to the managers every `intervalMs`, and soon after `changed()`
 * (at most once per `minGapMs`), once the scheduler has registered (`clusterId` known).
 */
export class HostReporter implements Startable {
  private readonly abort = new AbortController()
  private loop: Promise<void> | undefined
  /** Ends the wait for the next periodic report early. */
  private wake: (() => void) | undefined
  private dirty = false

  constructor(
    private readonly components: {
      connection: ManagerCaller
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
        const woken = new AbortController()
        this.wake = () => woken.abort()
        await clock.sleep(this.init.intervalMs, AbortSignal.any([signal, woken.signal])).catch(() => undefined)
      }
      if (signal.aborted) break
      try {
        await this.report(signal)
      } catch (error) {
        if (signal.aborted) break
        const failure = toDamselflyError(error)
        logger.warn({ code: failure.code, reason: failure.message }, 'reporting hosts to the manager failed; the next report carries them')
      }
      // After every attempt, even one that found the scheduler not yet registered (a change stays
      // pending then): hosts coming and going must not turn into a report per announce.
      await clock.sleep(this.init.minGapMs, signal).catch(() => undefined)
    }
  }

  /** Sends every host, unless the scheduler has not registered yet (the change then stays pending). */
  private async report(signal: AbortSignal): Promise<void> {
    const { hostname, ip, clusterId } = this.components.reporter()
    if (clusterId === undefined) return
    this.dirty = false
    const hosts = this.components.hosts()
    for (let start = 0; start === 0 || start < hosts.length; start += HOSTS_PER_REPORT) {
      const request = { hostname, ip, clusterId, hosts: hosts.slice(start, start + HOSTS_PER_REPORT) }
      await this.components.connection.call<ReportHostsResponse>('report hosts', (client, metadata, options, callback) => client.reportHosts(request, metadata, options, callback), signal)
    }
  }
}
