import { systemClock, type Clock } from '../common/clock.js'
import type { Logger } from '../common/logger.js'
import { SerialQueue } from '../common/serial-queue.js'
import type { Startable } from '../common/startable.js'
import { DamselflyError } from '../protocol/damselfly-error.js'
import type { TaskId } from '../protocol/ids.js'
import type { ContentStore, TaskSummary } from './content-store.js'
import { diskSpace, type DiskSpace } from './disk-space.js'

/** Why a task was evicted; also the `reason` label of the eviction metric. */
export type EvictionReason = 'ttl' | 'disk-usage' | 'quota' | 'make-room'

export interface Eviction {
  readonly taskId: TaskId
  readonly reason: EvictionReason
  readonly bytes: number
}

export interface GarbageCollectorInit {
  /** The data directory, measured for disk usage unless a `diskSpace` component is given. */
  readonly dataDir: string
  readonly intervalMs: number
  /** Tasks, complete or not, not accessed for this long are evicted. */
  readonly taskTtlMs: number
  /** Disk usage above this percentage starts eviction, least recently used first... */
  readonly highThresholdPercent: number
  /** ...until usage is at or below this percentage. */
  readonly lowThresholdPercent: number
  /**
   * Most bytes the store may hold; 0 or undefined for no quota. The quota is treated like a disk
   * of that size: above `highThresholdPercent` of it, tasks are evicted down to `lowThresholdPercent`.
   */
  readonly quotaBytes?: number | undefined
}

/**
 * Evicts tasks nobody uses: those not accessed within the TTL, then least recently used ones
 * while the disk (or the quota) is above the high threshold, down to the low one. A task in use
 * is never evicted. Passes and {@link GarbageCollector.makeRoom} run one at a time.
 */
export class GarbageCollector implements Startable {
  private timer: NodeJS.Timeout | undefined
  private currentPass: Promise<void> | undefined
  private readonly queue = new SerialQueue()

  constructor(
    private readonly components: {
      store: ContentStore
      logger: Logger
      clock?: Clock
      diskSpace?: () => Promise<DiskSpace>
      onEvict?: (reason: EvictionReason, bytes: number) => void
    },
    private readonly init: GarbageCollectorInit,
  ) {
    const { lowThresholdPercent: low, highThresholdPercent: high, intervalMs, taskTtlMs } = init
    if (!(low >= 0 && low <= high && high <= 100)) {
      throw new DamselflyError('INVALID_ARGUMENT', `thresholds must satisfy 0 <= low <= high <= 100, got low ${low} and high ${high}`)
    }
    if (!(intervalMs > 0 && taskTtlMs > 0)) {
      throw new DamselflyError('INVALID_ARGUMENT', `interval and task TTL must be positive, got ${intervalMs} ms and ${taskTtlMs} ms`)
    }
  }

  start(): Promise<void> {
    if (this.timer === undefined) {
      this.timer = setInterval(() => {
        this.tick()
      }, this.init.intervalMs)
      // Garbage collection alone never keeps the process alive.
      this.timer.unref()
    }
    return Promise.resolve()
  }

  async stop(): Promise<void> {
    clearInterval(this.timer)
    this.timer = undefined
    await this.currentPass
  }

  /** One pass: TTL, then disk usage, then quota. Resolves with what it evicted, in order. */
  runOnce(): Promise<Eviction[]> {
    return this.exclusive(() => this.pass())
  }

  /**
   * Evicts unused tasks, least recently used first, until the disk has `neededBytes` free beyond
   * `reserveBytes`. Evicts nothing when even every unused task together would not make that much
   * room: a download that fails anyway must not empty the cache first. Resolves with whether the
   * room is there; fails with STORAGE_FAILED if the disk cannot be measured.
   */
  makeRoom(neededBytes: number, reserveBytes: number): Promise<boolean> {
    if (!(neededBytes >= 0 && reserveBytes >= 0)) {
      return Promise.reject(new DamselflyError('INVALID_ARGUMENT', `needed and reserved bytes must be non-negative, got ${neededBytes} and ${reserveBytes}`))
    }
    return this.exclusive(async () => {
      const { freeBytes } = await this.measure()
      let missingBytes = neededBytes + reserveBytes - freeBytes
      if (missingBytes <= 0) return true
      const unused = this.unusedByAge()
      const reclaimableBytes = unused.reduce((sum, task) => sum + task.storedBytes, 0)
      if (reclaimableBytes < missingBytes) {
        this.components.logger.info({ neededBytes, reserveBytes, freeBytes, reclaimableBytes }, 'evicting every unused task would not make enough room; evicting none')
        return false
      }
      for (const task of unused) {
        if (missingBytes <= 0) break
        missingBytes -= (await this.evict(task, 'make-room'))?.bytes ?? 0
      }
      return missingBytes <= 0
    })
  }

  private tick(): void {
    // A pass slower than the interval is not run twice at once.
    if (this.currentPass !== undefined) return
    this.currentPass = this.runOnce().then(
      () => undefined,
      (error: unknown) => {
        this.components.logger.error({ err: error }, 'garbage collection failed')
      },
    )
    void this.currentPass.finally(() => {
      this.currentPass = undefined
    })
  }

  private async pass(): Promise<Eviction[]> {
    const evictions: Eviction[] = []
    // Measured before evicting: every eviction is then subtracted, since statfs may lag behind deletes.
    const space = await this.measure().catch((error: unknown) => {
      this.components.logger.warn({ err: error, dataDir: this.init.dataDir }, 'disk usage unknown; evicting by TTL and quota only')
      return undefined
    })
    const nowMs = this.clock.nowMs()
    for (const task of this.unusedByAge()) {
      if (nowMs - task.lastAccessMs <= this.init.taskTtlMs) break
      await this.evictInto(evictions, task, 'ttl')
    }
    if (space !== undefined && space.totalBytes > 0) {
      const usedBytes = space.totalBytes - space.freeBytes - sumBytes(evictions)
      await this.evictAbove(evictions, 'disk-usage', usedBytes, space.totalBytes)
    }
    const quotaBytes = this.init.quotaBytes ?? 0
    if (quotaBytes > 0) await this.evictAbove(evictions, 'quota', this.components.store.usedBytes(), quotaBytes)
    return evictions
  }

  /** Evicts least recently used tasks while `usedBytes` of `capacityBytes` is above the high threshold, down to the low one. */
  private async evictAbove(evictions: Eviction[], reason: EvictionReason, usedBytes: number, capacityBytes: number): Promise<void> {
    if (usedBytes <= (capacityBytes * this.init.highThresholdPercent) / 100) return
    const targetBytes = (capacityBytes * this.init.lowThresholdPercent) / 100
    let remainingBytes = usedBytes
    for (const task of this.unusedByAge()) {
      if (remainingBytes <= targetBytes) return
      remainingBytes -= (await this.evictInto(evictions, task, reason))?.bytes ?? 0
    }
    if (remainingBytes > targetBytes) {
      this.components.logger.warn({ reason, usedBytes: remainingBytes, targetBytes, capacityBytes }, 'usage stays above the low threshold; every other task is in use')
    }
  }

  private async evictInto(evictions: Eviction[], task: TaskSummary, reason: EvictionReason): Promise<Eviction | undefined> {
    const eviction = await this.evict(task, reason)
    if (eviction !== undefined) evictions.push(eviction)
    return eviction
  }

  /** Deletes one task unless it came into use meanwhile; a failure is logged and the pass goes on. */
  private async evict(task: TaskSummary, reason: EvictionReason): Promise<Eviction | undefined> {
    const { store, logger, onEvict } = this.components
    const { taskId } = task.descriptor
    if (store.get(taskId) === undefined) return undefined
    try {
      if (!(await store.delete(taskId))) return undefined
    } catch (error) {
      logger.warn({ err: error, taskId, reason }, 'task eviction failed')
      return undefined
    }
    logger.info({ taskId, reason, bytes: task.storedBytes }, 'task evicted')
    onEvict?.(reason, task.storedBytes)
    return { taskId, reason, bytes: task.storedBytes }
  }

  private unusedByAge(): TaskSummary[] {
    return this.components.store
      .list()
      .filter((task) => !task.inUse)
      .sort((a, b) => a.lastAccessMs - b.lastAccessMs)
  }

  private measure(): Promise<DiskSpace> {
    return this.components.diskSpace?.() ?? diskSpace(this.init.dataDir)
  }

  private get clock(): Clock {
    return this.components.clock ?? systemClock
  }

  private exclusive<T>(operation: () => Promise<T>): Promise<T> {
    return this.queue.run(operation)
  }
}

function sumBytes(evictions: readonly Eviction[]): number {
  return evictions.reduce((sum, eviction) => sum + eviction.bytes, 0)
}
