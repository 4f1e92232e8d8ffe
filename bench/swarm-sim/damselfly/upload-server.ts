import type { TaskId } from '../../../src/protocol/ids.js'
import { PieceSpread } from '../../../src/daemon/upload/piece-spread.js'
import type { EventLoop } from '../engine.js'
import type { Network, Transfer } from '../network.js'
import type { Random } from '../random.js'

/** The pieces one host holds of one task: what its upload server may send. */
export class HeldPieces {
  private readonly held: Uint8Array
  private count = 0

  constructor(readonly pieceCount: number) {
    this.held = new Uint8Array(pieceCount)
  }

  /** Read by the seed's PieceSpread: each piece goes out once before any goes out twice. */
  get finishedPieceCount(): number {
    return this.count
  }

  get complete(): boolean {
    return this.count === this.pieceCount
  }

  has(number: number): boolean {
    return this.held[number] === 1
  }

  add(number: number): void {
    if (this.held[number] === 1) return
    this.held[number] = 1
    this.count++
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

  /** The host leaves: every request not answered breaks, as its connection does; transfers end with the network's removal of the host. */
  close(): void {
    this.closed = true
    // The child hears of each broken connection at once, as of a reset.
    for (const request of this.open) this.components.loop.after(0, () => request.refused('failed'))
    this.open.clear()
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
