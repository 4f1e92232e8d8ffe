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

/** A stable id for a host: the same machine and upload port give the same id across restarts. */
export function hostIdFor(hostname: string, ip: string, uploadPort: number): HostId {
  return createHash('sha256').update(`${hostname}\n${ip}\n${uploadPort}`).digest('hex').slice(0, 32) as HostId
}

/**
 * Keeps one AnnounceHost stream open to every scheduler of the pool, including those that join
 * later: announces the host and its load every `intervalMs`, reconnects after failures, ends the
 * stream to a scheduler that leaves the pool, and hands seed-task commands to `onSeedTask`.
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
    stream.on('data', (response: AnnounceHostResponse) => {
      this.components.pool.markUp(address)
      if (response.command?.$case === 'seedTask') this.components.onSeedTask(response.command.value, address)
    })
    stream.on('error', retry)
    stream.on('end', () => {
      retry()
    })
    stream.write({ host: this.components.host(), report: undefined })
  }
}
