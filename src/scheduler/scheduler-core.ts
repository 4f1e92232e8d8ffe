import { Registry } from 'prom-client'
import type { Clock } from '../common/clock.js'
import type { Logger } from '../common/logger.js'
import { DamselflyError } from '../protocol/damselfly-error.js'
import { isTaskId, type HostId } from '../protocol/ids.js'
import { SCHEDULER_PROTOCOL_REVISION } from '../protocol/scheduler-protocol.js'
import type {
  AnnounceHostRequest,
  AnnounceHostResponse,
  AnnouncePeerRequest,
  AnnouncePeerResponse,
  ClusterStats as ClusterStatsMessage,
  TaskSwarm,
} from '../protocol/generated/damselfly/scheduler/v1/scheduler.js'
import type { TaskIdInput } from '../protocol/task-id.js'
import type { TaskId } from '../protocol/ids.js'
import type { HostIdentity } from '../security/identity.js'
import { ClusterSettings } from './cluster-settings.js'
import { BUCKET_MS, ClusterStats } from './cluster-stats.js'
import { DEFAULT_SCHEDULER_SETTINGS, type SchedulerSettings } from './config.js'
import { WeightedEvaluator, type Evaluator } from './evaluator.js'
import type { Host, HostInfo } from './host.js'
import type { MessageSink } from './message-sink.js'
import { operatorUrl } from './operator-url.js'
import { Peer } from './peer.js'
import { PeerEvents } from './peer-events.js'
import { PieceAnnouncer } from './piece-announcer.js'
import { parseHostAnnounce, parsePeerAddress, parseRegistration } from './request-parsing.js'
import { ResourceStore } from './resource-store.js'
import { ScheduleRunner } from './schedule-runner.js'
import { SchedulerMetrics } from './scheduler-metrics.js'
import { Scheduling } from './scheduling.js'
import { SwarmRecorder } from './swarm-recorder.js'
import { taskSwarm } from './task-swarm.js'
import { TaskIds } from './task-ids.js'

/** Downloads whose task id the scheduler remembers (a key is about the length of the URL). */
const TASK_ID_ENTRIES = 4_096

export interface SchedulerCoreOptions {
  readonly clock: Clock
  readonly logger: Logger
  /** Uniform in [0, 1); Math.random by default. */
  readonly random?: () => number
  /** Ranks candidate parents; Dragonfly's weighted sum by default. */
  readonly evaluator?: Evaluator
  /**
   * Runs `run` once the current turn's work is done: `setImmediate` in a process (the default), a
   * simulator's own event queue in simulated time. The piece announcer batches a turn's pieces with it.
   */
  readonly defer?: (run: () => void) => void
  /** The capability a peer shows its parents; none (empty) by default, as without identities. */
  readonly capabilityFor?: (peer: Peer) => string
  /** The `scheduler` block of the config (config.ts), durations in milliseconds; its defaults for what is left out. */
  readonly settings?: Partial<SchedulerSettings>
  /** Where the scheduler's metrics are registered; a registry of its own by default. */
  readonly registry?: Registry
  /** A host joined or was forgotten. */
  readonly onHostsChanged?: () => void
}

/**
 * What the scheduler does with each message, without any transport: hosts announcing and
 * leaving, peers registering, reporting and ending their streams. The gRPC service
 * (scheduler-service.ts) calls it after checking who is calling; a simulator or an in-process
 * bench drives it directly, with its own clock. It builds the resource model, scheduling, the
 * schedule runner, the console's recorder and the metrics from one set of settings.
 */
export class SchedulerCore {
  readonly store: ResourceStore
  readonly runner: ScheduleRunner
  readonly metrics: SchedulerMetrics
  readonly recorder: SwarmRecorder
  /** The limits and blocklist the manager's cluster config may change while running; starts from `settings`. */
  readonly cluster: ClusterSettings
  readonly settings: Readonly<SchedulerSettings>
  private readonly events: PeerEvents
  private readonly taskIds = new TaskIds({ maxEntries: TASK_ID_ENTRIES })
  /** Logs what peers report and how their streams end. */
  private readonly peerLogger: Logger

  constructor(private readonly options: SchedulerCoreOptions) {
    const { clock, logger } = options
    const settings = { ...DEFAULT_SCHEDULER_SETTINGS, ...options.settings }
    this.settings = settings
    const random = options.random ?? Math.random
    const defer = options.defer ?? ((run: () => void) => setImmediate(run))
    const cluster = new ClusterSettings({ logger: logger.child({ component: 'cluster-config' }) }, settings)
    this.cluster = cluster
    this.store = new ResourceStore(
      { clock, logger: logger.child({ component: 'resources' }), ...(options.onHostsChanged === undefined ? {} : { onHostsChanged: options.onHostsChanged }) },
      { peerTtlMs: settings.gc.peerTTL, taskTtlMs: settings.gc.taskTTL, hostTtlMs: settings.gc.hostTTL },
    )
    this.metrics = new SchedulerMetrics(options.registry ?? new Registry(), {
      hosts: () => this.store.hosts.size,
      tasks: () => this.store.tasks.size,
      peers: () => this.store.peers.size,
    })
    this.recorder = new SwarmRecorder({ stats: new ClusterStats({ clock }), clock })
    const scheduling = new Scheduling(
      {
        evaluator: options.evaluator ?? new WeightedEvaluator(),
        random,
        clock,
        connectedSeedHosts: () => this.store.connectedSeedHosts(),
        logger: logger.child({ component: 'scheduling' }),
        blockReason: (download) => cluster.blockReason(download),
      },
      {
        get candidateParentLimit() {
          return cluster.candidateParentLimit
        },
        get filterParentLimit() {
          return cluster.filterParentLimit
        },
        retryBackToSourceLimit: settings.retryBackToSourceLimit,
        retryLimit: settings.retryLimit,
        backToSourceCount: settings.backToSourceCount,
        seedWaitTimeoutMs: settings.seedWaitTimeout,
      },
    )
    this.runner = new ScheduleRunner(
      { scheduling, metrics: this.metrics, recorder: this.recorder, clock, logger, random, ...(options.capabilityFor === undefined ? {} : { capabilityFor: options.capabilityFor }) },
      { retryIntervalMs: settings.retryInterval },
    )
    this.peerLogger = logger.child({ component: 'peers' })
    this.events = new PeerEvents(
      { store: this.store, runner: this.runner, announcer: new PieceAnnouncer({ defer }), metrics: this.metrics, logger: this.peerLogger, recorder: this.recorder, clock },
      {
        offers: {
          get maxParents() {
            return cluster.candidateParentLimit * 4
          },
          get maxChildren() {
            return cluster.candidateParentLimit * 2
          },
        },
      },
    )
  }

  /** {@link taskIdFor}, remembered for the downloads seen most recently. */
  taskIdOf(input: TaskIdInput): TaskId {
    return this.taskIds.of(input)
  }

  /**
   * Parses a host's announce and registers the host, or refreshes what it says of itself, with
   * `stream` as its announce stream. `admit` sees the parsed host before anything changes and
   * throws to refuse it (the service checks the caller's certificate there); it returns the
   * identity the host proved, if any. The cluster's load limit caps the host's upload limit.
   * Throws INVALID_ARGUMENT on a malformed announce.
   */
  announceHost(
    request: AnnounceHostRequest,
    stream: MessageSink<AnnounceHostResponse>,
    admit: (info: HostInfo) => HostIdentity | undefined = () => undefined,
  ): Host {
    const { info, load: reported } = parseHostAnnounce(request)
    const cap = this.cluster.uploadLimitCap(info.seed)
    const load = cap === undefined || reported.concurrentUploadLimit <= cap ? reported : { ...reported, concurrentUploadLimit: cap }
    const identity = admit(info)
    const host = this.store.announceHost(info, load)
    host.identity = identity
    host.stream = stream
    return host
  }

  /** The host's announce stream ended: unless a newer stream replaced it, its peers stop being parents. */
  hostStreamEnded(host: Host, stream: MessageSink<AnnounceHostResponse>): void {
    if (host.stream === stream) this.store.disconnectHost(host)
  }

  /** The host left (or was revoked): its peers' retries stop and it is forgotten with them. Safe to repeat. */
  leaveHost(hostId: HostId): void {
    for (const peerId of this.store.hosts.get(hostId)?.peerIds ?? []) this.runner.cancel(peerId)
    this.store.removeHost(hostId)
  }

  /**
   * A peer's first message: parses it (throws INVALID_ARGUMENT unless it is a valid `register`),
   * waits for the peer's host to announce (up to `hostWaitTimeout`), replaces an earlier peer of
   * the same id, acknowledges the registration on `stream` and schedules the peer.
   */
  async register(request: AnnouncePeerRequest, stream: MessageSink<AnnouncePeerResponse>): Promise<Peer> {
    if (request.request?.$case !== 'register') {
      throw new DamselflyError('INVALID_ARGUMENT', `announce peer: the first message must be register, got ${request.request?.$case ?? 'nothing'}`)
    }
    const address = parsePeerAddress(request)
    const registration = parseRegistration(request.request.value, address.taskId, (input) => this.taskIds.of(input))
    const { store, runner, recorder } = this
    const host = await store.waitForHost(address.hostId, this.settings.hostWaitTimeout)
    if (host === undefined) {
      throw new DamselflyError('INVALID_ARGUMENT', `announce peer: host ${address.hostId} has not announced; open AnnounceHost first`)
    }
    if (store.peers.has(address.peerId)) {
      runner.cancel(address.peerId)
      store.removePeer(address.peerId)
    }
    const known = store.tasks.has(address.taskId)
    const task = store.taskFor(address.taskId)
    if (!known) recorder.taskStarted()
    if (task.url === '') task.url = operatorUrl(registration.download.url)
    // A fixed piece length is part of the task id, which parseRegistration checked against the download.
    if (registration.download.pieceLength > 0) task.pieceLengthBytes ??= registration.download.pieceLength
    const peer = new Peer(address.peerId, host, task, task.shareDownload(registration.download), this.options.clock.nowMs())
    peer.stream = stream
    store.addPeer(peer)
    recorder.peerStarted()
    // A resumed download's pieces are only checked against the authority, never made it: anyone can claim to hold anything.
    for (const piece of registration.pieces) {
      if (task.recordPiece(piece, undefined) === 'matches') peer.finishedPieces.add(piece.number)
    }
    this.peerLogger.info(
      { taskId: task.id, peerId: peer.id, hostId: host.id, priority: peer.download.priority, pieces: peer.finishedPieces.size },
      'peer registered',
    )
    // Before any decision, which may wait on a seed: the daemon then knows this scheduler answers.
    stream.write({ response: { $case: 'registered', value: { protocolRevision: SCHEDULER_PROTOCOL_REVISION } } })
    runner.run(peer)
    if (peer.finishedPieces.size > 0) runner.wake(task)
    return peer
  }

  /**
   * A registered peer's report. Throws INVALID_ARGUMENT when it names another peer, carries
   * nothing, registers again or is malformed; a report of a peer the scheduler has since
   * forgotten is ignored.
   */
  handle(peer: Peer, request: AnnouncePeerRequest): void {
    if (request.peerId !== peer.id) {
      throw new DamselflyError('INVALID_ARGUMENT', `announce peer: this stream belongs to peer ${peer.id}, got ${request.peerId}`)
    }
    const event = request.request
    if (event === undefined) throw new DamselflyError('INVALID_ARGUMENT', 'announce peer: the message carries no request')
    if (event.$case === 'register') throw new DamselflyError('INVALID_ARGUMENT', `announce peer: peer ${peer.id} is already registered`)
    if (this.store.peers.get(peer.id) !== peer) {
      this.peerLogger.debug({ peerId: peer.id, request: event.$case }, 'report from a forgotten peer ignored')
      return
    }
    peer.touch(this.options.clock.nowMs())
    this.events.handle(peer, event)
  }

  /** The peer's stream ended: a finished peer stays a parent while its host is announced; any other peer leaves. */
  streamEnded(peer: Peer): void {
    const { store, runner } = this
    runner.cancel(peer.id)
    if (store.peers.get(peer.id) !== peer) return
    peer.stream = undefined
    if (peer.state === 'succeeded') return
    store.removePeer(peer.id)
    this.peerLogger.info({ taskId: peer.task.id, peerId: peer.id }, 'peer left')
  }

  /** The console's snapshot of one task's swarm. Throws INVALID_ARGUMENT or NOT_FOUND. */
  taskSwarm(taskId: string): TaskSwarm {
    if (!isTaskId(taskId)) throw new DamselflyError('INVALID_ARGUMENT', `get task swarm: task_id must be 64 lowercase hex characters, got ${JSON.stringify(taskId.slice(0, 80))}`)
    const task = this.store.tasks.get(taskId)
    if (task === undefined) throw new DamselflyError('NOT_FOUND', `get task swarm: this scheduler does not know task ${taskId}`)
    return taskSwarm(task, this.options.clock.nowMs())
  }

  /** The console's per-minute counters. */
  clusterStats(): ClusterStatsMessage {
    return {
      bucketSeconds: BUCKET_MS / 1000,
      buckets: this.recorder.stats.buckets().map((bucket) => ({ ...bucket, backToSource: [...bucket.backToSource] })),
    }
  }

  /** Cancels every pending retry and waits for them to settle. Safe to repeat. */
  async stop(): Promise<void> {
    await this.runner.stop()
  }
}
