import { InstantClock } from '../common/instant-clock.js'
import { silentLogger } from '../common/logger.js'
import type { HostId, PeerId, TaskId } from '../protocol/ids.js'
import type { Download } from '../protocol/generated/damselfly/scheduler/v1/scheduler.js'
import type { Host, HostInfo, HostLoad } from './host.js'
import { ClusterStats } from './cluster-stats.js'
import type { MessageSink } from './message-sink.js'
import { Peer } from './peer.js'
import { ResourceStore } from './resource-store.js'
import { SwarmRecorder } from './swarm-recorder.js'
import type { Task } from './task.js'

// Builders for the scheduler's unit tests: resources without sockets, on an instant clock.

export const TASK_ID = 'a'.repeat(64) as TaskId
export const OTHER_TASK_ID = 'b'.repeat(64) as TaskId
/** 1 Gbit/s as a host announces its upload capacity: bytes per second. */
export const GBIT = 125_000_000

/** A sink that keeps what was written, for assertions. */
export class RecordingSink<T> implements MessageSink<T> {
  readonly messages: T[] = []
  write(message: T): void {
    this.messages.push(message)
  }
}

/** A repeatable uniform source in [0, 1) (mulberry32). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

export function download(overrides: Partial<Download> = {}): Download {
  return {
    url: 'http://origin.test/file',
    headers: {},
    tag: '',
    application: '',
    filteredQueryParams: [],
    pieceLength: 0,
    priority: 0,
    digest: '',
    disableBackToSource: false,
    ...overrides,
  }
}

export class Resources {
  readonly clock = new InstantClock()
  readonly store = new ResourceStore({ clock: this.clock, logger: silentLogger() }, { peerTtlMs: 60_000, taskTtlMs: 60_000, hostTtlMs: 60_000 })
  readonly stats = new ClusterStats({ clock: this.clock })
  readonly recorder = new SwarmRecorder({ stats: this.stats, clock: this.clock })

  host(id: string, info: Partial<Omit<HostInfo, 'id'>> = {}, load: Partial<HostLoad> = {}): Host {
    const host = this.store.announceHost(
      { id: id as HostId, ip: '10.0.0.1', hostname: id, uploadPort: 65002, idc: '', location: '', seed: false, disableShared: false, uploadTls: false, version: '', os: '', ...info },
      { concurrentUploadLimit: 50, concurrentUploadCount: 0, uploadCapacityBytesPerSecond: 0, ...load },
    )
    host.stream = new RecordingSink()
    return host
  }

  task(id: TaskId = TASK_ID): Task {
    return this.store.taskFor(id)
  }

  peer(id: string, host: Host, options: { task?: Task; download?: Partial<Download>; pieces?: number[]; state?: Peer['state'] } = {}): Peer {
    const task = options.task ?? this.task()
    const peer = new Peer(id as PeerId, host, task, download(options.download), this.clock.nowMs())
    peer.stream = new RecordingSink()
    this.store.addPeer(peer)
    for (const number of options.pieces ?? []) {
      task.recordPiece({ number, offset: number * 4, length: 4, digest: String(number).padStart(64, '0') }, host.id)
      peer.finishedPieces.add(number)
    }
    if (options.state !== undefined) peer.state = options.state
    return peer
  }
}

/** Polls `probe` until it returns a value; fails after `timeoutMs`. For tests over real sockets. */
export async function waitFor<T>(what: string, probe: () => T | undefined, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = probe()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}
