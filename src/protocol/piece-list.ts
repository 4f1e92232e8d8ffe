import { DamselflyError } from './damselfly-error.js'

/** Bytes of one piece number in a parent's list of its pieces. */
export const PIECE_LIST_ENTRY_BYTES = 4

/**
 * The pieces a parent holds of a task, as its upload server streams them to a watching child:
 * each piece number once, 4 bytes big-endian, in the order the parent recorded the pieces. A task
 * of n pieces makes a list of 4n bytes, so the list ends once the parent holds every piece.
 */
export function encodePieceList(numbers: readonly number[]): Buffer {
  const list = Buffer.allocUnsafe(numbers.length * PIECE_LIST_ENTRY_BYTES)
  numbers.forEach((number, index) => list.writeUInt32BE(number, index * PIECE_LIST_ENTRY_BYTES))
  return list
}

/** Reads a parent's list of its pieces as it arrives, in chunks cut anywhere. */
export class PieceListReader {
  /** The start of a number the last chunk cut off. */
  private readonly partial = Buffer.alloc(PIECE_LIST_ENTRY_BYTES)
  private partialBytes = 0

  constructor(private readonly pieceCount: number) {}

  /** The piece numbers `chunk` completes. INVALID_ARGUMENT for a number that is no piece of the task. */
  read(chunk: Uint8Array): number[] {
    const numbers: number[] = []
    let at = 0
    if (this.partialBytes > 0) {
      const taken = Math.min(PIECE_LIST_ENTRY_BYTES - this.partialBytes, chunk.length)
      this.partial.set(chunk.subarray(0, taken), this.partialBytes)
      this.partialBytes += taken
      at = taken
      if (this.partialBytes < PIECE_LIST_ENTRY_BYTES) return numbers
      numbers.push(this.checked(this.partial.readUInt32BE(0)))
      this.partialBytes = 0
    }
    const view = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length)
    for (; at + PIECE_LIST_ENTRY_BYTES <= view.length; at += PIECE_LIST_ENTRY_BYTES) numbers.push(this.checked(view.readUInt32BE(at)))
    this.partial.set(view.subarray(at), 0)
    this.partialBytes = view.length - at
    return numbers
  }

  private checked(number: number): number {
    if (number >= this.pieceCount) throw new DamselflyError('INVALID_ARGUMENT', `a piece list names piece ${number} of a task of ${this.pieceCount} pieces`)
    return number
  }
}
