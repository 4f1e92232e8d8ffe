import { STALL_MS } from '../../../src/daemon/download/parent-download.js'
import { ParentOffers } from '../../../src/daemon/download/parent-offers.js'
import { PieceChoice, type ChoiceParent } from '../../../src/daemon/download/piece-choice.js'
import type { PeerSession } from '../../../src/daemon/scheduler-client/peer-session.js'
import type { SchedulerAnswer } from '../../../src/daemon/scheduler-client/scheduler-answers.js'
import type { PeerId } from '../../../src/protocol/ids.js'
import type { EventLoop, Timer } from '../engine.js'
import type { Network, Transfer } from '../network.js'
import type { Random } from '../random.js'
import type { PieceTrace } from './piece-trace.js'
import type { CatalogTask, TaskCatalog } from './task-catalog.js'
import type { HeldPieces, PieceRequest, UploadAnswer, UploadServer } from './upload-server.js'

/** How a parent download ended: every piece stored, back to the source, or the scheduler gave up on the peer. */
export type ParentOutcome = 'done' | 'back-to-source' | 'failed'

/** Where a parent's upload server is, as the child knows it from the scheduler's offer. */
interface ParentAddress {
  readonly ip: string
}

type Parent = ChoiceParent<ParentAddress>

/** The one request under way for a piece. */
interface PieceFetch {
  readonly parent: Parent
  readonly startedMs: number
  /** The parent's transfer of the piece, once its server sends, and when that began. */
  transfer: Transfer | undefined
  sendingMs: number | undefined
  /** Given up (the endgame moved the piece, or the download stopped): whatever the parent answers is ignored. */
  closed: boolean
}

/**
 * src/daemon/download/parent-download.ts on simulated time: the same loop, rules and messages,
 * without HTTP, writers or digests to compute. Which piece from which parent is the daemon's own
 * PieceChoice; a piece is a request over the connection (a message to the parent's upload
 * server, see upload-server.ts) and a transfer back. Answers from the scheduler are applied as
 * they arrive; the loop runs after every event (a piece settled, an answer, a deadline it set),
 * several events of one instant folded into one pass, as the daemon's wakes fold into one turn.
 * A piece counts once its digest is the scheduler's; pieces are reported with the real
 * PeerSession's batching; a parent failing twice is dropped and blocklisted, and the scheduler
 * asked for others; without progress for STALL_MS the child asks for a reschedule.
 */
export class ParentDownload {
  private readonly choice: PieceChoice<ParentAddress>
  private readonly blocklist = new Set<PeerId>()
  /** The scheduler's parents, their pieces and the digests those are checked against, as the daemon takes them. */
  private readonly offers: ParentOffers<ParentAddress>
  private readonly fetches = new Map<number, PieceFetch>()
  private outcome: 'back-to-source' | 'failed' | undefined
  private lastProgressMs: number
  private lookTimer: Timer | undefined
  private passQueued = false
  private ended = false

  constructor(
    private readonly components: {
      readonly loop: EventLoop
      readonly network: Network
      readonly catalog: TaskCatalog
      readonly session: PeerSession
      /** What this host holds of the task: pieces land here, and its upload server sends from it. */
      readonly held: HeldPieces
      /** The upload server at an address, unless no host is there any more. */
      readonly uploadServerAt: (ip: string) => UploadServer | undefined
      readonly random: Random
      readonly trace?: PieceTrace | undefined
    },
    private readonly init: {
      readonly host: number
      readonly task: CatalogTask
      readonly concurrentPieceCount: number
      readonly onEnd: (outcome: ParentOutcome) => void
    },
  ) {
    this.lastProgressMs = components.loop.nowMs
    const missing: number[] = []
    for (let number = 0; number < init.task.pieceCount; number++) if (!components.held.has(number)) missing.push(number)
    this.choice = new PieceChoice({ concurrentPieceCount: init.concurrentPieceCount, pieceLengthBytes: init.task.sim.pieceLengthBytes, random: components.random }, missing)
    this.offers = new ParentOffers({ choice: this.choice }, {
      blocklist: this.blocklist,
      about: (offer) => ({ ip: offer.ip }),
      onParent: (parent) => {
        this.watch(parent)
      },
    })
  }

  /** An answer of the scheduler on the peer's stream, the first (parents) included. */
  apply(answer: SchedulerAnswer): void {
    if (this.ended) return
    switch (answer.kind) {
      case 'parents':
      case 'pieces-available':
        this.offers.apply(answer)
        break
      case 'back-to-source':
        this.outcome ??= 'back-to-source'
        break
      case 'schedule-failed':
      case 'source-failed':
        // No parent will come, or the origin's final answer was relayed: the daemon's download fails.
        this.outcome ??= 'failed'
        break
      case 'empty-task':
      case 'tiny-task':
      case 'registered':
        break
    }
    this.wake()
  }

  /** The host left: nothing more is asked, and nothing that arrives counts. */
  stop(): void {
    this.ended = true
    if (this.lookTimer !== undefined) this.components.loop.cancel(this.lookTimer)
    for (const fetch of this.fetches.values()) fetch.closed = true
    this.fetches.clear()
  }

  private wake(): void {
    if (this.passQueued || this.ended) return
    this.passQueued = true
    this.components.loop.after(0, () => this.pass())
  }

  /** One turn of the daemon's loop: start pieces, ask for a reschedule after a stall, set the next deadline; or end. */
  private pass(): void {
    this.passQueued = false
    if (this.ended) return
    const { loop } = this.components
    if (this.choice.missingCount > 0 && this.outcome === undefined) {
      const now = loop.nowMs
      this.assign(now)
      if (this.fetches.size === 0 && now - this.lastProgressMs > STALL_MS) {
        this.lastProgressMs = now
        this.components.session.reschedule(this.blocklist, 'no progress from the current parents')
      }
      this.armLook(now)
      return
    }
    if (this.lookTimer !== undefined) loop.cancel(this.lookTimer)
    this.lookTimer = undefined
    // As the daemon does, the pieces in flight settle before the download returns.
    if (this.fetches.size > 0) return
    this.ended = true
    this.init.onEnd(this.outcome === 'failed' ? 'failed' : this.choice.missingCount === 0 ? 'done' : 'back-to-source')
  }

  private assign(now: number): void {
    for (const { number, parent } of this.choice.assign(now)) this.start(number, parent, now)
    const moving = this.choice.piecesToMove(now, (number) => {
      const transfer = this.fetches.get(number)?.transfer
      return transfer === undefined ? 0 : this.components.network.receivedBytes(transfer)
    })
    for (const number of moving) {
      const fetch = this.fetches.get(number)
      if (fetch === undefined) continue
      fetch.closed = true
      if (fetch.transfer !== undefined) this.components.network.cancel(fetch.transfer)
      else this.settle(number, fetch)
    }
  }

  /** When the loop must look again with no event (the daemon's nextDeadline), as a timer of the loop. */
  private armLook(now: number): void {
    const stallMs = this.fetches.size === 0 ? this.lastProgressMs + STALL_MS : Infinity
    const deadline = Math.max(Math.min(stallMs, this.choice.nextLookMs(now)), now + 1)
    const { loop } = this.components
    if (this.lookTimer?.atMs === deadline) return
    if (this.lookTimer !== undefined) loop.cancel(this.lookTimer)
    this.lookTimer = Number.isFinite(deadline)
      ? loop.at(deadline, () => {
        this.lookTimer = undefined
        this.wake()
      })
      : undefined
  }

  private start(number: number, parent: Parent, now: number): void {
    const { catalog, uploadServerAt, loop } = this.components
    const { task, host } = this.init
    const fetch: PieceFetch = { parent, startedMs: now, transfer: undefined, sendingMs: undefined, closed: false }
    this.fetches.set(number, fetch)
    const request: PieceRequest = {
      taskId: task.taskId,
      number,
      bytes: catalog.range(task, number).length,
      child: host,
      get closed() {
        return fetch.closed
      },
      refused: (answer) => this.refused(number, fetch, answer),
      sending: (transfer) => {
        fetch.transfer = transfer
        fetch.sendingMs = loop.nowMs
      },
      ended: (delivered) => this.transferEnded(number, fetch, delivered),
    }
    const server = uploadServerAt(parent.about.ip)
    // Nobody at that address any more: the connection is refused.
    if (server === undefined) loop.after(0, () => request.refused('failed'))
    else server.request(request)
  }

  /** Watches which pieces a parent holds, as the daemon does, while the download runs and keeps the parent. */
  private watch(parent: Parent): void {
    const server = this.components.uploadServerAt(parent.about.ip)
    if (server === undefined) return
    const watching = (): boolean => !this.ended && this.choice.parent(parent.peerId) === parent
    server.watch({
      taskId: this.init.task.taskId,
      child: this.init.host,
      get closed() {
        return !watching()
      },
      listed: (numbers) => {
        if (!watching()) return
        this.offers.announced(parent.peerId, numbers)
        if (this.fetches.size < this.init.concurrentPieceCount) this.wake()
      },
    })
  }

  private refused(number: number, fetch: PieceFetch, answer: UploadAnswer): void {
    if (this.fetches.get(number) !== fetch) return
    const now = this.components.loop.nowMs
    if (answer === 'busy') this.choice.busy(fetch.parent, now)
    else if (answer === 'deferred') this.choice.deferred(fetch.parent, number, now)
    else this.failed(number, fetch, answer === 'not-found' ? `parent answered 404 for piece ${number}` : 'the connection to the parent broke')
    this.settle(number, fetch)
  }

  private transferEnded(number: number, fetch: PieceFetch, delivered: boolean): void {
    if (this.fetches.get(number) !== fetch) return
    if (!fetch.closed) {
      if (delivered) this.verify(number, fetch)
      else this.failed(number, fetch, `parent sent part of piece ${number}`)
    }
    this.settle(number, fetch)
  }

  private settle(number: number, fetch: PieceFetch): void {
    this.fetches.delete(number)
    this.choice.settled(number)
    fetch.closed = true
    this.wake()
  }

  private failed(number: number, fetch: PieceFetch, reason: string): void {
    this.components.session.pieceFailed({ number, parentPeerId: fetch.parent.peerId, badContent: false, reason })
    if (this.choice.failed(fetch.parent)) this.drop(fetch.parent, reason)
  }

  /** Records a piece the parent sent in full if its digest is the scheduler's. */
  private verify(number: number, fetch: PieceFetch): void {
    const { catalog, session, held, loop } = this.components
    const { task } = this.init
    const digest = catalog.digest(task, number)
    if (digest !== this.offers.digest(number)) {
      session.pieceFailed({ number, parentPeerId: fetch.parent.peerId, badContent: true, reason: 'digest mismatch' })
      this.drop(fetch.parent, 'sent a piece that fails its digest')
      return
    }
    const range = catalog.range(task, number)
    const now = loop.nowMs
    // The daemon measures whole milliseconds, and the scheduler takes nothing else.
    const costMs = Math.max(1, Math.round(now - fetch.startedMs))
    held.add(number)
    const { trace } = this.components
    if (trace !== undefined && fetch.transfer !== undefined && fetch.sendingMs !== undefined) {
      const source = { kind: 'parent', parentHost: fetch.transfer.from, requestedMs: fetch.startedMs, sendingMs: fetch.sendingMs } as const
      trace.landed({ host: this.init.host, taskId: task.taskId, number, bytes: range.length, atMs: now, source })
    }
    this.choice.stored(number, fetch.parent, range.length, costMs)
    this.lastProgressMs = now
    session.reportPiece({ piece: { number, offset: range.offset, length: range.length, digest }, parentPeerId: fetch.parent.peerId, costMs })
  }

  private drop(parent: Parent, reason: string): void {
    this.choice.dropParent(parent)
    this.blocklist.add(parent.peerId)
    this.components.session.reschedule(this.blocklist, reason)
  }
}
