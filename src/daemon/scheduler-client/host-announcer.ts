import { createHash } from 'node:crypto'
import { Metadata, type ClientDuplexStream } from '@grpc/grpc-js'
import type { Clock } from '../../common/clock.js'
import type { Logger } from '../../common/logger.js'
import type { Startable } from '../../common/startable.js'
import type { HostId } from '../../protocol/ids.js'
import type {
  AnnounceHostRequest, AnnounceHostResponse, Download, Host,
} from '../../protocol/generated/damselfly/scheduler/v1/scheduler.js'
import type { SchedulerPool } from './scheduler-pool.js'

const RECONNECT_DELAY_MS = 1_000

/** A command for the manager's jobs, as a scheduler sends it on a host's AnnounceHost stream. */
export type HostCommand = Exclude<NonNullable<AnnounceHostResponse['command']>, { $case: 'seedTask' }>

/** What a host answers such a command with, on the stream it came on. */
export type HostReport = NonNullable<AnnounceHostRequest['report']>

/** Where a command came from, and the way back to it. */
export interface CommandChannel {
  /** The scheduler (`host:port`) that sent the command. */
  readonly scheduler: string
  /**
   * Sends `report` on the stream the command came on. Once that stream ended (the scheduler went
   * away, or the host reconnected) the report is dropped and false returned: the scheduler has
   * already counted the command as failed, and a new stream knows nothing of it.
   */
  reply(report: HostReport): boolean
}

/** A stable id for a host: the same machine and upload port give the same id across restarts. */
export function hostIdFor(hostname: string, ip: string, uploadPort: number): HostId {
  return createHash('sha256').update(`${hostname}\n${ip}\n${uploadPort}`).digest('hex').slice(0, 32) as HostId
}

/**
 * Keeps one AnnounceHost stream open to every scheduler of the pool, including those that join
 * later: announces the host and its load every `intervalMs`, reconnects after failures, ends the
 * stream to a scheduler that leaves the pool, hands seed-task commands to `onSeedTask`, and every
 * other command to `onCommand` with a channel that answers on the stream it came on.
 */
export class HostAnnouncer implements Startable {
  private readonly streams = new Map<string, ClientDuplexStream<AnnounceHostRequest, AnnounceHostResponse>>()
  private timer: NodeJS.Timeout | undefined
  private stopped = false
  private unsubscribe: (() => void) | undefined

  constructor(
    private readonly components: {
      pool: SchedulerPool
      host: () => Host
      /** A seed task, and the scheduler (`host:port`) that sent it. */
      onSeedTask: (download: Download, scheduler: string) => void
      /** A command of the manager's jobs; it must not throw (it is called from the stream's events). */
      onCommand: (command: HostCommand, channel: CommandChannel) => void
      logger: Logger
      clock: Clock
    },
    private readonly init: { intervalMs: number },
  ) {}

  start(): Promise<void> {
    for (const address of this.components.pool.addresses) this.connect(address)
    this.unsubscribe = this.components.pool.onChange((members) => {
      this.follow(members)
    })
    this.timer = setInterval(() => {
      this.announceAll()
    }, this.init.intervalMs)
    this.timer.unref()
    return Promise.resolve()
  }

  async stop(): Promise<void> {
    this.stopped = true
    this.unsubscribe?.()
    clearInterval(this.timer)
    const host = this.components.host()
    await Promise.all(
      this.components.pool.addresses.map(
        (address) =>
          new Promise<void>((resolve) => {
            this.components.pool.client(address).leaveHost({ hostId: host.id }, new Metadata(), { deadline: Date.now() + 2_000 }, () => resolve())
          }),
      ),
    )
    for (const stream of this.streams.values()) stream.end()
    this.streams.clear()
  }

  /** Opens streams to schedulers that joined, and ends those to schedulers that left. */
  private follow(members: readonly string[]): void {
    if (this.stopped) return
    const wanted = new Set(members)
    for (const [address, stream] of this.streams) {
      if (wanted.has(address)) continue
      this.streams.delete(address)
      stream.end()
      this.components.logger.info({ scheduler: address }, 'scheduler left the directory; stopped announcing to it')
    }
    for (const address of members) {
      if (!this.streams.has(address)) this.connect(address)
    }
  }

  private announceAll(): void {
    const host = this.components.host()
    for (const stream of this.streams.values()) stream.write({ host, report: undefined })
  }

  private connect(address: string): void {
    if (this.stopped || this.streams.has(address) || !this.components.pool.addresses.includes(address)) return
    const stream = this.components.pool.client(address).announceHost()
    this.streams.set(address, stream)
    const retry = (error?: Error): void => {
      if (this.streams.get(address) !== stream) return
      this.streams.delete(address)
      if (this.stopped) return
      this.components.logger.warn({ scheduler: address, err: error }, 'host announce stream ended; reconnecting')
      setTimeout(() => {
        this.connect(address)
      }, RECONNECT_DELAY_MS).unref()
    }
    const channel: CommandChannel = {
      scheduler: address,
      reply: (report) => {
        if (this.streams.get(address) !== stream || stream.writableEnded || stream.destroyed) return false
        stream.write({ host: undefined, report })
        return true
      },
    }
    stream.on('data', (response: AnnounceHostResponse) => {
      this.components.pool.markUp(address)
      const { command } = response
      if (command === undefined) return
      if (command.$case === 'seedTask') this.components.onSeedTask(command.value, address)
      else this.components.onCommand(command, channel)
    })
    stream.on('error', retry)
    stream.on('end', () => {
      retry()
    })
    stream.write({ host: this.components.host(), report: undefined })
  }
}
