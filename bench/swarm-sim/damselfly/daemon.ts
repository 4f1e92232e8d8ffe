import { VERSION } from '../../../src/common/version.js'
import type { DaemonConfig } from '../../../src/daemon/config.js'
import { SourceSlots } from '../../../src/daemon/download/source-slots.js'
import { hostIdFor } from '../../../src/daemon/scheduler-client/host-announcer.js'
import type { AnnounceHostRequest, AnnounceHostResponse } from '../../../src/protocol/generated/damselfly/scheduler/v1/scheduler.js'
import type { HostId, PeerId, TaskId } from '../../../src/protocol/ids.js'
import type { EventLoop, Timer } from '../engine.js'
import type { Network } from '../network.js'
import type { Random } from '../random.js'
import type { RunProgress } from '../run-progress.js'
import type { SimHost } from '../scenario.js'
import type { PieceTrace } from './piece-trace.js'
import type { HostStream, SchedulerHost } from './scheduler-host.js'
import type { CatalogTask, TaskCatalog } from './task-catalog.js'
import { TaskDownload } from './task-download.js'
import { HeldPieces, UploadServer } from './upload-server.js'

/** The address a simulated host announces: 10.x.y.z from its number. */
export function simulatedIp(host: number): string {
  return `10.${(host >> 16) & 255}.${(host >> 8) & 255}.${host & 255}`
}

/**
 * One host's dfdaemon, simulated: it announces its host to the scheduler when it arrives and
 * every `scheduler.announceInterval` after (its upload limit and current uploads, as daemon.ts
 * builds the announce), downloads every task of the scenario at once (task-download.ts), or on
 * a seed host each task a `seed_task` command names, and serves what it holds with the upload
 * server's rules (upload-server.ts) while it stays, finished or not. Leaving ends its streams
 * and its transfers and sends LeaveHost.
 */
export class Daemon {
  readonly hostId: HostId
  readonly ip: string
  readonly uploads: UploadServer
  /** The daemon's host-wide limit on requests to origins (`source.concurrentLimit`), shared by its downloads. */
  private readonly sourceSlots: SourceSlots
  private readonly held = new Map<TaskId, HeldPieces>()
  private readonly downloads = new Map<TaskId, TaskDownload>()
  private readonly hostStream: HostStream
  private announceTimer: Timer | undefined
  private gone = false

  constructor(
    private readonly components: {
      readonly loop: EventLoop
      readonly network: Network
      readonly catalog: TaskCatalog
      readonly scheduler: SchedulerHost
      readonly uploadServerAt: (ip: string) => UploadServer | undefined
      /** Uniform in [0, 1): the downloads' piece choices. */
      readonly random: Random
      /** Uniform in [0, 1): when the upload server gets to each request. */
      readonly uploadRandom: Random
      /** Told when the host holds every task, and of every byte it gets from the origin. */
      readonly progress: RunProgress
      /** Told of every piece the host gets, if the run is traced. */
      readonly trace?: PieceTrace | undefined
    },
    private readonly init: {
      readonly sim: SimHost
      readonly origin: number
      readonly config: DaemonConfig
      /** The most an upload server takes to get to a request (upload-server.ts). */
      readonly requestProcessingMs: number
    },
  ) {
    const { sim, config } = init
    this.ip = simulatedIp(sim.id)
    this.hostId = hostIdFor(`host-${sim.id}`, this.ip, config.upload.server.port)
    this.sourceSlots = new SourceSlots({ limit: config.source.concurrentLimit })
    this.uploads = new UploadServer(
      { loop: components.loop, network: components.network, held: (taskId) => this.held.get(taskId), random: components.uploadRandom },
      {
        host: sim.id,
        concurrentLimit: config.upload.concurrentLimit,
        seedUploadsPerTask: sim.seed ? config.seedPeer.taskUploadLimit : undefined,
        processingMs: init.requestProcessingMs,
      },
    )
    this.hostStream = components.scheduler.openHostStream(sim.id, (response) => this.commanded(response))
  }

  /** The host joins: its announce goes out first, then a registration per task (a seed waits for commands). */
  arrive(): void {
    this.announce()
    if (this.init.sim.seed) return
    for (const task of this.components.catalog.tasks) this.download(task)
  }

  leave(): void {
    this.gone = true
    if (this.announceTimer !== undefined) this.components.loop.cancel(this.announceTimer)
    for (const download of this.downloads.values()) download.leave()
    this.uploads.close()
    this.hostStream.end()
    this.components.scheduler.leaveHost(this.init.sim.id, this.hostId)
  }

  private announce(): void {
    const { config } = this.init
    const request: AnnounceHostRequest = {
      host: {
        id: this.hostId,
        ip: this.ip,
        hostname: `host-${this.init.sim.id}`,
        uploadPort: config.upload.server.port,
        idc: config.host.idc,
        location: config.host.location,
        seed: this.init.sim.seed,
        disableShared: config.upload.disableShared,
        concurrentUploadLimit: config.upload.concurrentLimit,
        concurrentUploadCount: this.uploads.activeUploads,
        // As the daemon says it without a rate limit: its interface's speed, here its uplink.
        uploadCapacityBytesPerSecond: Math.round(this.init.sim.links.upBytesPerMs * 1000),
        uploadTls: true,
        version: VERSION,
        os: 'linux',
      },
      report: undefined,
    }
    this.hostStream.announce(request)
    this.announceTimer = this.components.loop.after(config.scheduler.announceInterval, () => this.announce())
  }

  /** A command on the host's stream: a seed host fetches the task named, once. */
  private commanded(response: AnnounceHostResponse): void {
    if (this.gone || response.command?.$case !== 'seedTask') return
    const task = this.components.catalog.forUrl(response.command.value.url)
    if (task === undefined || this.downloads.has(task.taskId)) return
    this.download(task)
  }

  private download(task: CatalogTask): void {
    const held = new HeldPieces(task.pieceCount)
    this.held.set(task.taskId, held)
    const { config } = this.init
    const download = new TaskDownload(
      { ...this.components, held, sourceSlots: this.sourceSlots },
      {
        host: this.init.sim.id,
        origin: this.init.origin,
        ids: { hostId: this.hostId, peerId: `${this.hostId.slice(0, 12)}-${this.downloads.size}` as PeerId },
        task,
        settings: {
          concurrentPieceCount: config.download.concurrentPieceCount,
          registerTimeoutMs: config.scheduler.registerTimeout,
          scheduleTimeoutMs: config.scheduler.scheduleTimeout,
        },
        onEnd: () => this.downloadEnded(),
      },
    )
    this.downloads.set(task.taskId, download)
    download.start()
  }

  /** A download ended; the host is done once it holds every task (a host whose download failed never is). */
  private downloadEnded(): void {
    if (this.components.catalog.tasks.every((task) => this.held.get(task.taskId)?.complete === true)) this.components.progress.finished(this.init.sim.id)
  }
}
