import type { TaskId } from '../../../src/protocol/ids.js'
import { PieceSpread } from '../../../src/daemon/upload/piece-spread.js'
import type { EventLoop } from '../engine.js'
import type { Network, Transfer } from '../network.js'
import type { Random } from '../random.js'

/** The pieces one host holds of one task: what its upload server may send. */
export class HeldPieces {
  private readonly held: Uint8Array
  /** Piece numbers in the order they were added. */
  private readonly order: number[] = []
  /** Called on every piece added: the host's upload server, once a child watches the task. */
  onAdded: (() => void) | undefined

  constructor(readonly pieceCount: number) {
    this.held = new Uint8Array(pieceCount)
  }

  /** Read by the seed's PieceSpread: each piece goes out once before any goes out twice. */
  get finishedPieceCount(): number {
    return this.order.length
  }

  get complete(): boolean {
    return this.order.length === this.pieceCount
  }

  has(number: number): boolean {
    return this.held[number] === 1
  }

  add(number: number): void {
    if (this.held[number] === 1) return
    this.held[number] = 1
    this.order.push(number)
    this.onAdded?.()
  }

  /** The pieces added after the first `count`, in the order they were added. */
  since(count: number): number[] {
    return this.order.slice(count)
  }

  /** The numbers of the pieces held, in order. */
  numbers(): number[] {
    const numbers: number[] = []
    for (let number = 0; number < this.pieceCount; number++) if (this.held[number] === 1) numbers.push(number)
    return numbers
  }
}

/** How a parent's upload server answered a request for a piece. */
export type UploadAnswer = 'busy' | 'deferred' | 'not-found' | 'failed'

/**
 * One request for a piece, as the connection between child and parent carries it: the child
 * sends it, the parent's server answers it, and both ends may drop it.
 */
export interface PieceRequest {
  readonly taskId: TaskId
  readonly number: number
  readonly bytes: number
  /** The child's host. */
  readonly child: number
  /** The child gave the request up (endgame, or it left): the server does not serve it. */
  readonly closed: boolean
  /** The server refused the piece, or the connection broke before any byte; runs on the child. */
  refused(answer: UploadAnswer): void
  /** The server is sending: the transfer carries the piece's bytes. */
  sending(transfer: Transfer): void
  /** The transfer ended: every byte arrived, or it broke off. */
  ended(delivered: boolean): void
}

/** A child's watch of which pieces a parent holds of a task (the upload server's `/pieces/...` list). */
export interface PieceWatch {
  readonly taskId: TaskId
  /** The child's host. */
  readonly child: number
  /** The child no longer watches (it dropped the parent, finished, or left). */
  readonly closed: boolean
  /** Pieces the parent holds that it did not list before; runs on the child. */
  listed(numbers: readonly number[]): void
}

/** A task's watches on one upload server, and how much of the list each was sent. */
interface TaskWatches {
  readonly held: HeldPieces
  readonly watches: Array<{ readonly watch: PieceWatch; sent: number }>
  flushQueued: boolean
}

/**
 * A daemon's upload server (src/daemon/upload/upload-server.ts), its rules without HTTP: a
 * request for a piece the host does not hold is refused (404), one beyond `concurrentLimit`
 * uploads at once is answered busy (503), and on a seed peer the real PieceSpread defers a piece
 * that went out more often than another and holds a task to `seedUploadsPerTask` at once.
 * Refusals go back as messages; a piece goes as one transfer over the network.
 *
 * The server gets to each request a random moment after it arrives, up to `processingMs`: a real
 * one reads it from a TLS connection, checks the child's capability (a signature) and opens the
 * content, on an event loop shared with its host's other work. Without that spread the simulated
 * swarm ran in lockstep: children that were told busy at one instant all asked again at one later
 * instant, and a seed's free upload slot always went to the child whose piece had just landed.
 */
export class UploadServer {
  private uploading = 0
  private readonly spread: PieceSpread | undefined
  /** Requests received or on their way, not answered yet: a host that leaves breaks them. */
  private readonly open = new Set<PieceRequest>()
  /** Per task, the children watching which pieces this host holds. */
  private readonly watched = new Map<TaskId, TaskWatches>()
  private closed = false

  constructor(
    private readonly components: {
      readonly loop: EventLoop
      readonly network: Network
      /** What the host holds of a task, if anything. */
      readonly held: (taskId: TaskId) => HeldPieces | undefined
      /** Uniform in [0, 1): when within `processingMs` the server gets to a request. */
      readonly random: Random
    },
    private readonly init: {
      readonly host: number
      readonly concurrentLimit: number
      readonly seedUploadsPerTask: number | undefined
      readonly processingMs: number
    },
  ) {
    this.spread = init.seedUploadsPerTask === undefined ? undefined : new PieceSpread({ uploadsPerTask: init.seedUploadsPerTask })
  }

  /** Piece responses being sent right now: the host's upload load for the scheduler. */
  get activeUploads(): number {
    return this.uploading
  }

  /** A child opens a request (the connection is up); it arrives after the path's latency. */
  request(request: PieceRequest): void {
    if (this.closed) {
      this.components.loop.after(0, () => request.refused('failed'))
      return
    }
    this.open.add(request)
    const { loop, network, random } = this.components
    network.message(request.child, this.init.host, () => loop.after(random() * this.init.processingMs, () => this.serve(request)))
  }

  /**
   * A child watches which pieces this host holds: once the watch arrives, it is sent the pieces
   * held, then, at the end of each instant in which pieces were added, those pieces, until the
   * child closes it or the host leaves, as the daemon's upload server streams its piece list.
   */
  watch(watch: PieceWatch): void {
    if (this.closed) return
    const { loop, network, random } = this.components
    network.message(watch.child, this.init.host, () => loop.after(random() * this.init.processingMs, () => this.startWatch(watch)))
  }

  /** The host leaves: every request not answered breaks, as its connection does; transfers end with the network's removal of the host. */
  close(): void {
    this.closed = true
    // The child hears of each broken connection at once, as of a reset.
    for (const request of this.open) this.components.loop.after(0, () => request.refused('failed'))
    this.open.clear()
    for (const { held } of this.watched.values()) held.onAdded = undefined
    this.watched.clear()
  }

  private startWatch(watch: PieceWatch): void {
    const held = this.components.held(watch.taskId)
    if (this.closed || watch.closed || held === undefined) return
    let task = this.watched.get(watch.taskId)
    if (task === undefined) {
      const created: TaskWatches = { held, watches: [], flushQueued: false }
      held.onAdded = () => {
        this.queueList(created)
      }
      this.watched.set(watch.taskId, created)
      task = created
    }
    const entry = { watch, sent: 0 }
    task.watches.push(entry)
    this.sendList(task, entry)
  }

  /** The pieces of one instant go out together, once it ends. */
  private queueList(task: TaskWatches): void {
    if (task.flushQueued) return
    task.flushQueued = true
    this.components.loop.after(0, () => {
      task.flushQueued = false
      for (const entry of [...task.watches]) this.sendList(task, entry)
    })
  }

  private sendList(task: TaskWatches, entry: { readonly watch: PieceWatch; sent: number }): void {
    const { watch } = entry
    if (watch.closed || entry.sent >= task.held.pieceCount) {
      task.watches.splice(task.watches.indexOf(entry), 1)
      return
    }
    const numbers = task.held.since(entry.sent)
    if (numbers.length === 0) return
    entry.sent += numbers.length
    this.components.network.message(this.init.host, watch.child, () => watch.listed(numbers))
  }

  private serve(request: PieceRequest): void {
    if (!this.open.delete(request) || request.closed) return
    const held = this.components.held(request.taskId)
    if (held === undefined || !held.has(request.number)) {
      this.answer(request, 'not-found')
      return
    }
    if (this.uploading >= this.init.concurrentLimit) {
      this.answer(request, 'busy')
      return
    }
    const claim = this.spread?.claim(held, request.number) ?? 'send'
    if (claim === 'defer') {
      this.answer(request, 'deferred')
      return
    }
    if (claim === 'busy') {
      this.answer(request, 'busy')
      return
    }
    this.uploading++
    const transfer = this.components.network.transfer(this.init.host, request.child, request.bytes, (delivered) => {
      this.uploading--
      this.spread?.finished(held, request.number, delivered)
      request.ended(delivered)
    })
    request.sending(transfer)
  }

  private answer(request: PieceRequest, answer: UploadAnswer): void {
    this.components.network.message(this.init.host, request.child, () => request.refused(answer))
  }
}
