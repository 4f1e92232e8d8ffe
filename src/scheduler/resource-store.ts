import type { Clock } from '../common/clock.js'
import type { Logger } from '../common/logger.js'
import type { HostId, PeerId, TaskId } from '../protocol/ids.js'
import { Host, type HostInfo, type HostLoad } from './host.js'
import type { Peer } from './peer.js'
import { Task } from './task.js'

export interface ResourceStoreInit {
  /** A peer silent for longer than this is forgotten. */
  readonly peerTtlMs: number
  /** A task without peers for longer than this is forgotten. */
  readonly taskTtlMs: number
  /** A host whose announce stream is gone and that has not announced for longer than this is forgotten. */
  readonly hostTtlMs: number
}

export interface GcResult {
  readonly peers: number
  readonly tasks: number
  readonly hosts: number
}

/** Every host, task and peer the scheduler knows, and the rules for forgetting them. */
export class ResourceStore {
  readonly hosts = new Map<HostId, Host>()
  readonly tasks = new Map<TaskId, Task>()
  readonly peers = new Map<PeerId, Peer>()
  private readonly hostWaiters = new Map<HostId, Set<(host: Host) => void>>()
  /** The hosts that announced themselves seeds: scheduling asks for them at every decision without parents. */
  private readonly seedHosts = new Set<Host>()

  constructor(
    private readonly components: {
      clock: Clock
      logger: Logger
      /** A host joined or was forgotten (the manager hears of the scheduler's hosts on such a change). */
      onHostsChanged?: () => void
    },
    private readonly init: ResourceStoreInit,
  ) {}

  /** Registers a host or refreshes what it says about itself; wakes registrations waiting for it. */
  announceHost(info: HostInfo, load: HostLoad): Host {
    const nowMs = this.components.clock.nowMs()
    let host = this.hosts.get(info.id)
    if (host === undefined) {
      host = new Host(info, load, nowMs)
      this.hosts.set(info.id, host)
      this.components.logger.info({ hostId: info.id, ip: info.ip, seed: info.seed }, 'host announced')
      this.components.onHostsChanged?.()
    } else {
      const capacityChanged = host.load.uploadCapacityBytesPerSecond !== load.uploadCapacityBytesPerSecond
      host.info = info
      host.load = load
      host.lastSeenMs = nowMs
      if (capacityChanged) for (const peerId of host.peerIds) this.peers.get(peerId)?.task.forgetUploadCapacities()
    }
    if (info.seed) this.seedHosts.add(host)
    else this.seedHosts.delete(host)
    const waiters = this.hostWaiters.get(info.id)
    this.hostWaiters.delete(info.id)
    for (const wake of waiters ?? []) wake(host)
    return host
  }

  /**
   * Resolves with the host once it has announced, or undefined after `timeoutMs`. A daemon opens
   * its host and peer streams side by side, so a peer may register a moment before its host.
   */
  async waitForHost(hostId: HostId, timeoutMs: number, signal?: AbortSignal): Promise<Host | undefined> {
    const known = this.hosts.get(hostId)
    if (known !== undefined) return known
    const abort = new AbortController()
    const onAbort = (): void => {
      abort.abort()
    }
    signal?.addEventListener('abort', onAbort, { once: true })
    const announced = new Promise<Host>((resolve) => {
      const waiters = this.hostWaiters.get(hostId) ?? new Set()
      waiters.add(resolve)
      this.hostWaiters.set(hostId, waiters)
      abort.signal.addEventListener('abort', () => waiters.delete(resolve), { once: true })
    })
    const timedOut = this.components.clock.sleep(timeoutMs, abort.signal).then(
      () => undefined,
      () => undefined,
    )
    try {
      return await Promise.race([announced, timedOut])
    } finally {
      abort.abort()
      signal?.removeEventListener('abort', onAbort)
    }
  }

  /** The host's announce stream ended: its peers stop being parents at once. */
  disconnectHost(host: Host): void {
    host.stream = undefined
    for (const peerId of host.peerIds) {
      const peer = this.peers.get(peerId)
      peer?.task.graph.deleteOutEdges(peerId)
    }
    this.components.logger.info({ hostId: host.id }, 'host disconnected')
  }

  /** The host left for good: it and all its peers are forgotten. */
  removeHost(hostId: HostId): void {
    const host = this.hosts.get(hostId)
    if (host === undefined) return
    for (const peerId of [...host.peerIds]) this.removePeer(peerId)
    this.hosts.delete(hostId)
    this.seedHosts.delete(host)
    this.components.logger.info({ hostId }, 'host removed')
    this.components.onHostsChanged?.()
  }

  taskFor(taskId: TaskId): Task {
    let task = this.tasks.get(taskId)
    if (task === undefined) {
      task = new Task(taskId, { logger: this.components.logger.child({ taskId }) }, this.components.clock.nowMs())
      this.tasks.set(taskId, task)
    }
    return task
  }

  addPeer(peer: Peer): void {
    this.peers.set(peer.id, peer)
    peer.host.peerIds.add(peer.id)
    peer.task.addPeer(peer)
  }

  /** Forgets a peer: it leaves its task's DAG, so no child is offered it again. Safe to repeat. */
  removePeer(peerId: PeerId): void {
    const peer = this.peers.get(peerId)
    if (peer === undefined) return
    peer.state = peer.state === 'failed' ? 'failed' : 'left'
    peer.stream = undefined
    this.peers.delete(peerId)
    peer.host.peerIds.delete(peerId)
    peer.task.removePeer(peerId, this.components.clock.nowMs())
  }

  /** Connected seed hosts, the candidates for fetching a task from the source. */
  connectedSeedHosts(): Host[] {
    return [...this.seedHosts].filter((host) => host.seed && host.connected)
  }

  /** Forgets peers, tasks and hosts past their TTLs; returns how many of each went. */
  gc(): GcResult {
    const nowMs = this.components.clock.nowMs()
    let peers = 0
    let tasks = 0
    let hosts = 0
    for (const peer of [...this.peers.values()]) {
      if (nowMs - peer.lastActiveMs > this.init.peerTtlMs) {
        this.removePeer(peer.id)
        peers++
      }
    }
    for (const host of [...this.hosts.values()]) {
      if (!host.connected && nowMs - host.lastSeenMs > this.init.hostTtlMs) {
        peers += host.peerIds.size
        this.removeHost(host.id)
        hosts++
      }
    }
    for (const task of [...this.tasks.values()]) {
      if (task.peerlessSinceMs !== undefined && nowMs - task.peerlessSinceMs > this.init.taskTtlMs) {
        this.tasks.delete(task.id)
        tasks++
      }
    }
    if (peers + tasks + hosts > 0) this.components.logger.info({ peers, tasks, hosts }, 'gc forgot resources')
    return { peers, tasks, hosts }
  }
}
