import { pino } from 'pino'
import { Registry } from 'prom-client'
import { systemClock } from '../../src/common/clock.js'
import { createLogger } from '../../src/common/logger.js'
import {
  AnnounceHostRequest,
  AnnouncePeerRequest,
  AnnouncePeerResponse,
  type AnnounceHostResponse,
} from '../../src/protocol/generated/damselfly/scheduler/v1/scheduler.js'
import type { MessageSink } from '../../src/scheduler/message-sink.js'
import type { Peer } from '../../src/scheduler/peer.js'
import { SchedulerCore } from '../../src/scheduler/scheduler-core.js'
import { simulatedHostInfo, type PeerStream, type SimulatedHost } from './simulated-peers.js'

/** A SchedulerCore in this process and what it was built with. */
export interface InProcessScheduler {
  readonly core: SchedulerCore
  readonly registry: Registry
  /** Stops the core and closes its log. */
  stop(): Promise<void>
}

/**
 * A scheduler in this process: the same SchedulerCore the gRPC service calls, with the default
 * settings, its info logs going to `logPath` as a scheduler process writes them, and metrics in a
 * registry of its own. No capability is signed, as with `--insecure`.
 */
export function inProcessScheduler(logPath: string): InProcessScheduler {
  const registry = new Registry()
  const destination = pino.destination({ dest: logPath, sync: false, mkdir: true })
  const logger = createLogger({ level: 'info', name: 'scheduler', destination })
  const core = new SchedulerCore({ clock: systemClock, logger, registry })
  return {
    core,
    registry,
    stop: async () => {
      await core.stop()
      destination.flushSync()
      destination.end()
    },
  }
}

/**
 * What crosses the wire: a message as the receiving end decodes it, in objects of its own. Peers
 * then hold what a scheduler process would hold (a download's strings per peer, not one shared
 * copy), and the decoding costs what gRPC's does.
 */
function overTheWire<T>(codec: { encode(message: T): { finish(): Uint8Array }; decode(bytes: Uint8Array): T }, message: T): T {
  return codec.decode(codec.encode(message).finish())
}

/** Announces `count` simulated hosts straight to `core`, as their daemons' AnnounceHost streams would. */
export function announceHostsInProcess(core: SchedulerCore, count: number): SimulatedHost[] {
  return Array.from({ length: count }, (_, i) => {
    const info = simulatedHostInfo(i)
    // No simulated host is a seed: no command ever comes on its stream.
    const stream: MessageSink<AnnounceHostResponse> = { write: () => undefined }
    core.announceHost(overTheWire(AnnounceHostRequest, { host: info, report: undefined }), stream)
    return { info, openPeerStream: () => new CorePeerStream(core) }
  })
}

/**
 * A peer's stream straight into a SchedulerCore, as the gRPC service drives it: messages are
 * handled one at a time, in order, the first one registering; the end of the stream tells the
 * core. Answers are encoded as a gRPC write would (that cost is the scheduler's) and handed to the
 * listeners at once. The stream settles on a later turn of the event loop, so that peers
 * interleave and the scheduler's deferred work (pieces announced, retries) runs between them.
 */
class CorePeerStream implements PeerStream {
  readonly closed: Promise<void>
  private readonly listeners: Array<(response: AnnouncePeerResponse) => void> = []
  private peer: Peer | undefined
  private failure: unknown
  private queue: Promise<void> = Promise.resolve()
  private settle: { resolve: () => void; reject: (error: unknown) => void } | undefined
  private readonly sink: MessageSink<AnnouncePeerResponse> = {
    write: (response) => {
      AnnouncePeerResponse.encode(response).finish()
      for (const listener of this.listeners) listener(response)
    },
  }

  constructor(private readonly core: SchedulerCore) {
    this.closed = new Promise((resolve, reject) => {
      this.settle = { resolve, reject }
    })
    // Reported as a rejection to whoever awaits it; here only kept from being unhandled.
    this.closed.catch(() => undefined)
  }

  write(request: AnnouncePeerRequest): void {
    const decoded = overTheWire(AnnouncePeerRequest, request)
    this.enqueue(async () => {
      if (this.failure !== undefined) return
      if (this.peer === undefined) this.peer = await this.core.register(decoded, this.sink)
      else this.core.handle(this.peer, decoded)
    })
  }

  end(): void {
    this.close()
  }

  cancel(): void {
    this.failure ??= new Error('cancelled')
    this.close()
  }

  onAnswer(listener: (response: AnnouncePeerResponse) => void): void {
    this.listeners.push(listener)
  }

  private enqueue(step: () => Promise<void> | void): void {
    this.queue = this.queue.then(step).catch((error: unknown) => {
      // As the service does: a refused message ends the stream with its error.
      this.failure ??= error
      this.close()
    })
  }

  private close(): void {
    this.enqueue(() => {
      const settle = this.settle
      if (settle === undefined) return
      this.settle = undefined
      if (this.peer !== undefined) this.core.streamEnded(this.peer)
      const failure = this.failure
      setImmediate(() => (failure === undefined ? settle.resolve() : settle.reject(failure)))
    })
  }
}
