import type { sendUnaryData, ServerDuplexStream, ServerUnaryCall, ServerWritableStream } from '@grpc/grpc-js'
import type { Clock } from '../common/clock.js'
import { toGrpcStatus } from '../common/grpc-status.js'
import type { Logger } from '../common/logger.js'
import { DamselflyError } from '../protocol/damselfly-error.js'
import type { HostId } from '../protocol/ids.js'
import type {
  AnnounceHostRequest,
  AnnounceHostResponse,
  AnnouncePeerRequest,
  AnnouncePeerResponse,
  DeleteTaskRequest,
  DeleteTaskResponse,
  LeaveHostRequest,
  LeaveHostResponse,
  RunDownloadsEvent,
  RunDownloadsRequest,
  SchedulerServiceServer,
  StatTaskRequest,
  StatTaskResponse,
} from '../protocol/generated/damselfly/scheduler/v1/scheduler.js'
import { CallerIdentities } from '../security/grpc-tls.js'
import { checkHostAnnounce, checkHostCaller, checkManagerCaller, checkNotRevoked } from './caller-checks.js'
import { AfterIo } from './after-io.js'
import type { Host } from './host.js'
import { HostJobs } from './host-jobs.js'
import { parseRunDownloads, parseTaskQuery, type DownloadJob, type TaskQuery } from './job-request-parsing.js'
import type { MessageSink } from './message-sink.js'
import type { Peer } from './peer.js'
import type { SchedulerCore } from './scheduler-core.js'
import { NO_REVOCATIONS, type RevocationList } from '../security/revocation-watcher.js'

type Call<Req, Res> = ServerDuplexStream<Req, Res>
/** What ending any call with a status needs. */
type EndableCall = Pick<ServerDuplexStream<unknown, unknown>, 'writableEnded' | 'destroyed' | 'emit'>

/** A sink that drops messages once the call has ended, instead of failing the write. */
function sinkOf<Res>(call: Pick<ServerWritableStream<unknown, Res>, 'write' | 'writableEnded' | 'destroyed' | 'cancelled'>): MessageSink<Res> {
  return {
    write: (message) => {
      if (!call.writableEnded && !call.destroyed && !call.cancelled) call.write(message)
    },
  }
}

/** Ends the call with an OK status, unless it has ended. */
function endCall(call: { readonly writableEnded: boolean; end(): unknown }): void {
  if (!call.writableEnded) call.end()
}

function endWith(call: EndableCall, error: unknown): void {
  if (call.writableEnded || call.destroyed) return
  // grpc-js turns an 'error' event on a server stream into the trailing status and ends it.
  call.emit('error', toGrpcStatus(error))
}

/** Certificates whose identity the service remembers (one per host; about 1 KiB each): the most recently used win. */
const CALLER_IDENTITY_ENTRIES = 4_096

/**
 * The gRPC handlers of `SchedulerService` (see proto/damselfly/scheduler/v1/scheduler.proto): who
 * is calling and whether they may, each stream's messages in order, and the manager's jobs. What
 * a message does to the scheduler is the core's (scheduler-core.ts).
 */
export class SchedulerService {
  private readonly jobs: HostJobs
  private readonly identities = new CallerIdentities({ maxEntries: CALLER_IDENTITY_ENTRIES })
  private readonly afterIo = new AfterIo({ defer: (run) => setImmediate(run) })
  private readonly calls = new Set<EndableCall>()
  /** The open streams of each host that showed a certificate, so a revoked host's can be ended. */
  private readonly callsByHost = new Map<HostId, Set<EndableCall>>()
  private readonly work = new Set<Promise<void>>()

  constructor(
    private readonly components: {
      core: SchedulerCore
      clock: Clock
      logger: Logger
      /** Hosts refused whatever their certificates say; none without a manager. */
      revocations?: Pick<RevocationList, 'isRevoked'>
    },
    private readonly init: {
      /** Every caller must hold a certificate from the cluster CA; false only when running without identities. */
      requireIdentity: boolean
    },
  ) {
    const { core } = components
    this.jobs = new HostJobs({ store: core.store, runner: core.runner, metrics: core.metrics, clock: components.clock, logger: components.logger })
  }

  private get core(): SchedulerCore {
    return this.components.core
  }

  private get revocations(): Pick<RevocationList, 'isRevoked'> {
    return this.components.revocations ?? NO_REVOCATIONS
  }

  /** The handler object grpc-js expects for `server.addService(SchedulerServiceService, ...)`. */
  handlers(): SchedulerServiceServer {
    return {
      announceHost: (call) => this.announceHost(call),
      announcePeer: (call) => this.announcePeer(call),
      leaveHost: (call, callback) => this.leaveHost(call, callback),
      runDownloads: (call) => this.runDownloads(call),
      statTask: (call, callback) => this.taskQuery(call, callback, 'stat task', (query) => this.jobs.statTask(query)),
      deleteTask: (call, callback) => this.taskQuery(call, callback, 'delete task', (query) => this.jobs.deleteTask(query)),
      getTaskSwarm: (call, callback) => this.managerQuery(call, callback, 'get task swarm', (request) => this.core.taskSwarm(request.taskId)),
      getClusterStats: (call, callback) => this.managerQuery(call, callback, 'get cluster stats', () => this.core.clusterStats()),
    }
  }

  /** Ends every open stream and waits for in-flight handling; stop the core first, so no retry starts meanwhile. Safe to repeat. */
  async stop(): Promise<void> {
    for (const call of this.calls) endWith(call, new DamselflyError('SHUTTING_DOWN', 'the scheduler is stopping'))
    this.calls.clear()
    await Promise.all([...this.work])
  }

  /**
   * Ends every stream of hosts the managers revoked and forgets them and their peers, as if they
   * had left: they are no longer anyone's parent, and a new stream of theirs is refused.
   */
  revokeHosts(hostIds: readonly string[]): void {
    for (const hostId of hostIds as readonly HostId[]) {
      for (const call of this.callsByHost.get(hostId) ?? []) endWith(call, new DamselflyError('PERMISSION_DENIED', `host ${hostId} is revoked`))
      this.callsByHost.delete(hostId)
      this.core.leaveHost(hostId)
    }
  }

  /** `onEnd` answers the caller's end of the stream (by default at once, with an OK status). */
  private track<Req, Res>(call: Call<Req, Res>, onClose: () => void, onEnd: () => void = () => endCall(call), hostId?: HostId): void {
    this.calls.add(call)
    if (hostId !== undefined) this.callsByHost.set(hostId, (this.callsByHost.get(hostId) ?? new Set()).add(call))
    let closed = false
    const close = (): void => {
      if (closed) return
      closed = true
      this.calls.delete(call)
      if (hostId !== undefined) {
        const open = this.callsByHost.get(hostId)
        open?.delete(call)
        if (open?.size === 0) this.callsByHost.delete(hostId)
      }
      onClose()
    }
    call.on('end', () => {
      close()
      onEnd()
    })
    call.on('cancelled', close)
    call.on('error', close)
    call.on('close', close)
  }

  private announceHost(call: Call<AnnounceHostRequest, AnnounceHostResponse>): void {
    const sink = sinkOf(call)
    const identity = this.identities.of(call)
    let host: Host | undefined
    let failed = false
    this.track(call, () => {
      this.jobs.streamClosed(sink)
      if (host !== undefined) this.core.hostStreamEnded(host, sink)
    }, undefined, identity?.hostId)
    call.on('data', (request: AnnounceHostRequest) => {
      if (failed) return
      try {
        // A report answers a command sent over this stream; with neither host nor report, the parsing below refuses the message.
        if (request.report !== undefined && request.host === undefined) {
          this.jobs.report(sink, host?.id, request.report)
          return
        }
        const streamHost = host
        host = this.core.announceHost(request, sink, (info) => {
          if (this.init.requireIdentity) checkHostAnnounce(identity, info)
          checkNotRevoked(identity, this.revocations, 'announce host')
          if (streamHost !== undefined && streamHost.id !== info.id) {
            throw new DamselflyError('INVALID_ARGUMENT', `announce host: this stream belongs to host ${streamHost.id}, got ${info.id}`)
          }
          return identity
        })
        if (request.report !== undefined) this.jobs.report(sink, host.id, request.report)
      } catch (error) {
        failed = true
        this.components.logger.warn({ err: error }, 'announce host refused')
        endWith(call, error)
      }
    })
  }

  /** A manager's job: runs downloads on hosts (HostJobs) and streams their progress and outcomes. */
  private runDownloads(call: ServerWritableStream<RunDownloadsRequest, RunDownloadsEvent>): void {
    let job: DownloadJob
    try {
      const identity = this.identities.of(call)
      if (this.init.requireIdentity) checkManagerCaller(identity, 'run downloads')
      checkNotRevoked(identity, this.revocations, 'run downloads')
      job = parseRunDownloads(call.request, (input) => this.core.taskIdOf(input))
    } catch (error) {
      this.components.logger.warn({ err: error }, 'run downloads refused')
      endWith(call, error)
      return
    }
    const abort = new AbortController()
    call.on('cancelled', () => abort.abort())
    this.calls.add(call)
    const running = this.jobs.runDownloads(job, sinkOf(call), abort.signal).then(
      () => endCall(call),
      (error: unknown) => endWith(call, error),
    ).finally(() => this.calls.delete(call))
    this.work.add(running)
    void running.finally(() => this.work.delete(running))
  }

  /** StatTask and DeleteTask: a manager asks every connected host about one task. */
  private taskQuery<Req extends StatTaskRequest | DeleteTaskRequest, Res extends StatTaskResponse | DeleteTaskResponse>(
    call: ServerUnaryCall<Req, Res>,
    callback: sendUnaryData<Res>,
    what: string,
    ask: (query: TaskQuery) => Promise<Res>,
  ): void {
    let query: TaskQuery
    try {
      const identity = this.identities.of(call)
      if (this.init.requireIdentity) checkManagerCaller(identity, what)
      checkNotRevoked(identity, this.revocations, what)
      query = parseTaskQuery(call.request, what)
    } catch (error) {
      callback(toGrpcStatus(error), null)
      return
    }
    const asked = ask(query).then(
      (response) => callback(null, response),
      (error: unknown) => callback(toGrpcStatus(error), null),
    )
    this.work.add(asked)
    void asked.finally(() => this.work.delete(asked))
  }

  /** A manager's question answered from memory at once: the console's live data. */
  private managerQuery<Req, Res>(call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>, what: string, answer: (request: Req) => Res): void {
    try {
      const identity = this.identities.of(call)
      if (this.init.requireIdentity) checkManagerCaller(identity, what)
      checkNotRevoked(identity, this.revocations, what)
      callback(null, answer(call.request))
    } catch (error) {
      callback(toGrpcStatus(error), null)
    }
  }

  private leaveHost(call: ServerUnaryCall<LeaveHostRequest, LeaveHostResponse>, callback: sendUnaryData<LeaveHostResponse>): void {
    const hostId = call.request.hostId as HostId
    try {
      if (hostId === '') throw new DamselflyError('INVALID_ARGUMENT', 'leave host: host_id is missing')
      if (this.init.requireIdentity) checkHostCaller(this.identities.of(call), hostId, 'leave host')
    } catch (error) {
      callback(toGrpcStatus(error), null)
      return
    }
    this.core.leaveHost(hostId)
    callback(null, {})
  }

  /**
   * A peer's stream. Its messages are handled one at a time, in order; `register` may wait for
   * the host to announce. Reports and the end of the stream wait for the turn's I/O first
   * (AfterIo), so that registrations read in the same turn are answered before them: a decision
   * is what a download waits for, while a report only updates the model.
   */
  private announcePeer(call: Call<AnnouncePeerRequest, AnnouncePeerResponse>): void {
    const sink = sinkOf(call)
    const identity = this.identities.of(call)
    let peer: Peer | undefined
    let failed = false
    let queue: Promise<void> = Promise.resolve()
    // Whether a step already in the queue waits for the turn's I/O: steps behind it then need not wait a turn of their own.
    let waitAhead = false
    const enqueue = (step: () => Promise<void> | void, options: { evenAfterFailure?: boolean; afterIo?: boolean } = {}): void => {
      const waits = options.afterIo === true && !waitAhead
      if (waits) waitAhead = true
      const next = queue.then(async () => {
        if (waits) {
          await this.afterIo.wait()
          waitAhead = false
        }
        if (!failed || options.evenAfterFailure === true) await step()
      }).catch((error: unknown) => {
        failed = true
        this.components.logger.warn({ err: error, peerId: peer?.id }, 'announce peer refused')
        endWith(call, error)
      })
      queue = next
      this.work.add(next)
      void next.finally(() => this.work.delete(next))
    }
    this.track(call, () => {
      enqueue(() => {
        if (peer !== undefined) this.core.streamEnded(peer)
      }, { evenAfterFailure: true, afterIo: true })
    }, () => {
      enqueue(() => endCall(call), { evenAfterFailure: true, afterIo: true })
    }, identity?.hostId)
    let first = true
    call.on('data', (request: AnnouncePeerRequest) => {
      const registering = first
      first = false
      enqueue(async () => {
        if (peer === undefined) {
          if (this.init.requireIdentity) checkHostCaller(identity, request.hostId as HostId, 'announce peer')
          checkNotRevoked(identity, this.revocations, 'announce peer')
          peer = await this.core.register(request, sink)
        }
        else this.core.handle(peer, request)
      }, { afterIo: !registering && request.request?.$case !== 'reschedule' })
    })
  }
}
