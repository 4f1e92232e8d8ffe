import { sourceRuns, type SourceRun } from '../../../src/daemon/download/source-fetcher.js'
import type { SourceSlots } from '../../../src/daemon/download/source-slots.js'
import type { PeerSession } from '../../../src/daemon/scheduler-client/peer-session.js'
import type { EventLoop, Timer } from '../engine.js'
import type { Network, Transfer } from '../network.js'
import type { RunProgress } from '../run-progress.js'
import type { PieceTrace } from './piece-trace.js'
import type { CatalogTask, TaskCatalog } from './task-catalog.js'
import type { HeldPieces } from './upload-server.js'

/** A piece counts as arrived this close to its last byte: the flow's progress is a product of floating-point rate and time. */
const ARRIVAL_TOLERANCE_BYTES = 1
/** How soon a run whose flow has no rate yet (it waits for the network's next allocation) is looked at again. */
const UNALLOCATED_RECHECK_MS = 1

/**
 * The daemon's source phase (src/daemon/download/source-phase.ts and source-fetcher.ts) on
 * simulated time: a HEAD of the origin for the content's length (one round trip), then
 * `back_to_source_started`, then the missing pieces in runs cut by the daemon's own rule
 * (sourceRuns), `concurrentPieceCount` runs at once, each holding one of the host's source slots
 * (SourceSlots, shared by its downloads) while its ranged GET is under way: a request to the origin
 * and one transfer back carrying the run's bytes. Each piece is stored and reported (no parent)
 * as its last byte arrives, as the daemon cuts the response into pieces; the origin answers every
 * request, its uplink shared among them by the network.
 */
export class SourceFetch {
  private stopped = false
  private runningWorkers = 0
  private readonly timers = new Set<Timer>()

  constructor(
    private readonly components: {
      readonly loop: EventLoop
      readonly network: Network
      readonly catalog: TaskCatalog
      /** The peer's session with the scheduler, if it has one: reports go there. */
      readonly session: PeerSession | undefined
      readonly held: HeldPieces
      /** The host's, shared by its downloads: a run waits for one before its request goes out. */
      readonly sourceSlots: SourceSlots
      /** Counts what the host gets from the origin. */
      readonly progress: RunProgress
      readonly trace?: PieceTrace | undefined
    },
    private readonly init: {
      readonly host: number
      readonly origin: number
      readonly task: CatalogTask
      readonly concurrentPieceCount: number
      readonly onDone: () => void
    },
  ) {}

  run(): void {
    const { network } = this.components
    const { host, origin } = this.init
    network.message(host, origin, () => {
      network.message(origin, host, () => this.fetchPieces())
    })
  }

  /** The host left: nothing more is asked, and nothing that arrives counts. */
  stop(): void {
    this.stopped = true
    for (const timer of this.timers) this.components.loop.cancel(timer)
    this.timers.clear()
  }

  private fetchPieces(): void {
    if (this.stopped) return
    const { held, session } = this.components
    const { task } = this.init
    session?.backToSourceStarted({ contentLengthBytes: task.sim.sizeBytes, pieceLengthBytes: task.sim.pieceLengthBytes })
    const missing: number[] = []
    for (let number = 0; number < task.pieceCount; number++) if (!held.has(number)) missing.push(number)
    if (missing.length === 0) {
      this.init.onDone()
      return
    }
    const workerCount = Math.min(this.init.concurrentPieceCount, missing.length)
    const nextRun = sourceRuns(missing, workerCount, task.sim.pieceLengthBytes)
    this.runningWorkers = workerCount
    for (let worker = 0; worker < workerCount; worker++) this.work(nextRun)
  }

  /** A worker: one run after another until none is left. */
  private work(nextRun: () => SourceRun | undefined): void {
    if (this.stopped) return
    const run = nextRun()
    if (run === undefined) {
      if (--this.runningWorkers === 0) this.init.onDone()
      return
    }
    const { network } = this.components
    // Stored meanwhile (by a download from parents that raced this one): not asked again.
    let first = run.first
    while (first <= run.last && this.components.held.has(first)) first++
    if (first > run.last) {
      this.work(nextRun)
      return
    }
    // A host that leaves takes its slots with it: nothing waiting or held is handed back.
    this.components.sourceSlots.request(String(this.init.origin), (release) => {
      if (this.stopped) return
      const startedMs = this.components.loop.nowMs
      network.message(this.init.host, this.init.origin, () => this.sendRun({ first, last: run.last }, startedMs, () => {
        release()
        this.work(nextRun)
      }))
    })
  }

  /** At the origin: the run's bytes as one transfer; each piece lands as the flow passes its end. */
  private sendRun(run: SourceRun, requestedMs: number, next: () => void): void {
    const { catalog, network, loop } = this.components
    const { task } = this.init
    const numbers: number[] = []
    const ends: number[] = []
    let bytes = 0
    for (let number = run.first; number <= run.last; number++) {
      bytes += catalog.range(task, number).length
      numbers.push(number)
      ends.push(bytes)
    }
    let landed = 0
    let pieceStartedMs = requestedMs
    let check: Timer | undefined
    const landUpTo = (receivedBytes: number): void => {
      while (landed < numbers.length && receivedBytes >= (ends[landed] as number) - ARRIVAL_TOLERANCE_BYTES) {
        const now = loop.nowMs
        this.land(numbers[landed] as number, Math.round(now - pieceStartedMs))
        pieceStartedMs = now
        landed++
      }
    }
    const watch = (): void => {
      if (check !== undefined) this.timers.delete(check)
      check = undefined
      if (this.stopped) return
      landUpTo(network.receivedBytes(transfer))
      // The last piece lands with the transfer's end.
      if (landed >= numbers.length - 1) return
      const rate = network.rateBytesPerMs(transfer)
      const waitMs = rate > 0 ? ((ends[landed] as number) - network.receivedBytes(transfer)) / rate : UNALLOCATED_RECHECK_MS
      check = loop.after(waitMs, watch)
      this.timers.add(check)
    }
    const transfer: Transfer = network.transfer(this.init.origin, this.init.host, bytes, (delivered) => {
      if (check !== undefined) {
        loop.cancel(check)
        this.timers.delete(check)
      }
      if (this.stopped || !delivered) return
      landUpTo(bytes)
      next()
    })
    if (numbers.length > 1) watch()
  }

  private land(number: number, costMs: number): void {
    const { catalog, held, session } = this.components
    const { task } = this.init
    const range = catalog.range(task, number)
    held.add(number)
    this.components.trace?.landed({ host: this.init.host, taskId: task.taskId, number, bytes: range.length, atMs: this.components.loop.nowMs, source: { kind: 'origin' } })
    this.components.progress.addFromOrigin(this.init.host, range.length)
    session?.reportPiece({ piece: { number, offset: range.offset, length: range.length, digest: catalog.digest(task, number) }, parentPeerId: undefined, costMs })
  }
}
