import type { Counter } from 'prom-client'
import { silentLogger } from '../../../src/common/logger.js'
import type { HostId } from '../../../src/protocol/ids.js'
import type {
  AnnounceHostRequest, AnnounceHostResponse, AnnouncePeerRequest, AnnouncePeerResponse,
} from '../../../src/protocol/generated/damselfly/scheduler/v1/scheduler.js'
import type { Host } from '../../../src/scheduler/host.js'
import type { MessageSink } from '../../../src/scheduler/message-sink.js'
import type { Peer } from '../../../src/scheduler/peer.js'
import type { SchedulerSettings } from '../../../src/scheduler/config.js'
import { SchedulerCore } from '../../../src/scheduler/scheduler-core.js'
import type { EventLoop } from '../engine.js'
import type { Network } from '../network.js'
import type { Random } from '../random.js'

/** The daemon's half of a host's AnnounceHost stream. */
export interface HostStream {
  announce(request: AnnounceHostRequest): void
  /** The stream ends (the daemon went away). */
  end(): void
}

/** The daemon's half of a peer's AnnouncePeer stream. */
export interface PeerStream {
  write(request: AnnouncePeerRequest): void
  end(): void
}

/**
 * The real scheduler (SchedulerCore: resource model, filters, evaluator, scheduling, piece
 * announcer) on a simulated host of its own, on the loop's clock, with a seeded random and its
 * deferred work on the loop. Messages between it and a daemon are control messages
 * (`Network.message`): they take the path's latency and no bandwidth. Each stream's messages are
 * handled one at a time in order, as the gRPC service does; the service's caller checks and
 * identities are left out (the scheduler runs without identities).
 */
export class SchedulerHost {
  readonly core: SchedulerCore
  /** The first error of a message's handling: a fault of the simulation, which ends the run. */
  failure: Error | undefined

  constructor(
    private readonly components: { readonly loop: EventLoop; readonly network: Network; readonly random: Random },
    private readonly init: {
      readonly host: number
      /** The config's `scheduler` block where it differs from the defaults. */
      readonly settings?: Partial<SchedulerSettings> | undefined
    },
  ) {
    const { loop } = components
    this.core = new SchedulerCore({
      clock: loop.clock,
      logger: silentLogger(),
      random: components.random,
      defer: (run) => {
        loop.after(0, run)
      },
      ...(init.settings === undefined ? {} : { settings: init.settings }),
    })
  }

  /** Schedules run so far: every decision of the scheduling rules (parents, back-to-source, retry, ...). */
  async decisions(): Promise<number> {
    const counter: Counter<'outcome'> = this.core.metrics.schedules
    const { values } = await counter.get()
    return values.reduce((sum, { value }) => sum + value, 0)
  }

  /** Opens a host's AnnounceHost stream; commands for it go to `onCommand` on the daemon's host. */
  openHostStream(daemonHost: number, onCommand: (response: AnnounceHostResponse) => void): HostStream {
    const { network } = this.components
    const schedulerHost = this.init.host
    const sink: MessageSink<AnnounceHostResponse> = {
      write: (response) => {
        network.message(schedulerHost, daemonHost, () => onCommand(response))
      },
    }
    let host: Host | undefined
    return {
      announce: (request) => {
        network.message(daemonHost, schedulerHost, () => {
          this.guard(() => {
            host = this.core.announceHost(request, sink)
          })
        })
      },
      end: () => {
        network.message(daemonHost, schedulerHost, () => {
          if (host !== undefined) this.core.hostStreamEnded(host, sink)
        })
      },
    }
  }

  /** The LeaveHost call a departing daemon makes. */
  leaveHost(daemonHost: number, hostId: HostId): void {
    this.components.network.message(daemonHost, this.init.host, () => {
      this.core.leaveHost(hostId)
    })
  }

  /** Opens a peer's AnnouncePeer stream; the scheduler's answers go to `onAnswer` on the daemon's host. */
  openPeerStream(daemonHost: number, onAnswer: (response: AnnouncePeerResponse) => void): PeerStream {
    const { loop, network } = this.components
    const schedulerHost = this.init.host
    let ended = false
    const sink: MessageSink<AnnouncePeerResponse> = {
      write: (response) => {
        if (!ended) network.message(schedulerHost, daemonHost, () => onAnswer(response))
      },
    }
    let peer: Peer | undefined
    let registering = false
    // What arrived while the registration waited for its host: handled in order once it is done.
    const waiting: Array<AnnouncePeerRequest | 'end'> = []
    const receive = (message: AnnouncePeerRequest | 'end'): void => {
      if (peer === undefined && registering) {
        waiting.push(message)
        return
      }
      if (message === 'end') {
        ended = true
        if (peer !== undefined) this.core.streamEnded(peer)
        return
      }
      if (peer !== undefined) {
        const registered = peer
        this.guard(() => this.core.handle(registered, message))
        return
      }
      registering = true
      this.core.register(message, sink).then(
        (registered) => {
          peer = registered
          for (const next of waiting.splice(0)) receive(next)
        },
        (error: unknown) => {
          this.fail(error)
        },
      )
      loop.settle()
    }
    return {
      write: (request) => {
        network.message(daemonHost, schedulerHost, () => receive(request))
      },
      end: () => {
        network.message(daemonHost, schedulerHost, () => receive('end'))
      },
    }
  }

  private guard(handle: () => void): void {
    try {
      handle()
    } catch (error) {
      this.fail(error)
    }
  }

  private fail(error: unknown): void {
    this.failure ??= error instanceof Error ? error : new Error(String(error))
    this.components.loop.stop()
  }
}
