import { DamselflyError } from '../../protocol/damselfly-error.js'
import { createHasher, formatDigest, parseDigest, type Hasher } from '../../protocol/digest.js'
import type { StoredTask } from '../../storage/content-store.js'
import { contentDigestOf } from './content-digest.js'
import type { PieceSignals } from './piece-signals.js'

const SENT = Promise.resolve()

/**
 * A task's whole-content digest, computed while the task downloads: it follows the run of stored
 * pieces from the start, hashing each piece (read back from the store, so from the page cache) as
 * soon as every piece before it is stored. When the last piece lands, only what follows the
 * hashed prefix is left to hash, not the whole content: a client held back for the digest (the
 * last piece of a verified response) waits for one piece's hashing instead of a read of it all.
 * Each byte is hashed once. Not safe to share between two versions of a task's content: a task
 * deleted or fetched anew needs a new one.
 */
export class ContentHasher {
  private readonly hasher: Hasher
  private hashedBytes = 0
  private nextPiece = 0
  private readonly following = new AbortController()
  private readonly followed: Promise<void>
  /** The first failure of the follower; the digest is then read from the store in full. */
  private failure: unknown
  private finished = false

  constructor(
    private readonly components: { readonly signals: PieceSignals },
    private readonly init: {
      readonly task: StoredTask
      /** The expected digest, `<algorithm>:<hex>`: it names the algorithm. */
      readonly expected: string
      /** Aborts reads under way when the download stops. */
      readonly signal: AbortSignal
    },
  ) {
    this.hasher = createHasher(parseDigest(init.expected).algorithm)
    this.followed = this.follow().catch((error: unknown) => {
      if (!this.following.signal.aborted) this.failure = error
    })
  }

  /** The task this hasher reads; a download whose task was replaced needs another hasher. */
  get task(): StoredTask {
    return this.init.task
  }

  /**
   * The digest of the first `contentLengthBytes` of the task, every piece of which must be stored,
   * as `<algorithm>:<hex>`. Call once. Rejects with the store's error when the content cannot be read.
   */
  async digest(contentLengthBytes: number): Promise<string> {
    this.finished = true
    this.following.abort()
    await this.followed
    if (this.failure === undefined) {
      try {
        while (this.hashedBytes < contentLengthBytes && this.init.task.piece(this.nextPiece) !== undefined) await this.hashNext()
      } catch (error) {
        this.failure = error
      }
    }
    if (this.failure !== undefined || this.hashedBytes !== contentLengthBytes) {
      // Something kept the prefix from covering the content: read it all once more, as before.
      return contentDigestOf(this.init.task, this.init.expected, contentLengthBytes, this.init.signal)
    }
    return formatDigest(this.hasher.digest())
  }

  /** Stops following the task without a digest: its content is being thrown away. Safe to repeat. */
  stop(): void {
    this.finished = true
    this.following.abort()
  }

  private async follow(): Promise<void> {
    const { task } = this.init
    const { pieceLengthBytes, contentLengthBytes } = task.descriptor
    const count = contentLengthBytes === undefined ? Infinity : Math.ceil(contentLengthBytes / pieceLengthBytes)
    while (!this.finished && this.nextPiece < count) {
      const number = this.nextPiece
      const ready = await this.components.signals.wait(number, this.following.signal, () => task.piece(number) !== undefined)
      if (!ready || this.finished) return
      await this.hashNext()
    }
  }

  /** Hashes the next piece of the prefix; it must be stored. */
  private async hashNext(): Promise<void> {
    const piece = this.init.task.piece(this.nextPiece)
    if (piece === undefined || piece.offset !== this.hashedBytes) {
      throw new DamselflyError('INTERNAL', `piece ${this.nextPiece} does not continue the hashed prefix of ${this.hashedBytes} bytes`)
    }
    if (piece.length > 0) {
      await this.init.task.sendRange(piece.offset, piece.offset + piece.length - 1, (chunk) => {
        this.hasher.update(chunk)
        return SENT
      }, this.init.signal)
    }
    this.hashedBytes += piece.length
    this.nextPiece++
  }
}
