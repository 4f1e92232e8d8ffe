import { DamselflyError } from './damselfly-error.js'

/**
 * Which pieces of a task a host holds, as a parent's upload server lists them to a child: one bit
 * per piece, piece 0 the high bit of the first byte, as BitTorrent's bitfield message has it.
 */
export function encodePieceBitfield(pieceCount: number, holds: (number: number) => boolean): Buffer {
  const bitfield = Buffer.alloc(Math.ceil(pieceCount / 8))
  for (let number = 0; number < pieceCount; number++) {
    if (holds(number)) bitfield[number >> 3] = (bitfield[number >> 3] ?? 0) | (0x80 >> (number & 7))
  }
  return bitfield
}

/**
 * The piece numbers a bitfield of a task of `pieceCount` pieces lists, in order; with `previous`
 * (an earlier bitfield of the same host and task), only those it did not list. INVALID_ARGUMENT
 * when a bitfield does not fit the task.
 */
export function decodePieceBitfield(bitfield: Uint8Array, pieceCount: number, previous?: Uint8Array): number[] {
  for (const each of previous === undefined ? [bitfield] : [bitfield, previous]) {
    if (each.length !== Math.ceil(pieceCount / 8)) {
      throw new DamselflyError('INVALID_ARGUMENT', `a piece bitfield of ${each.length} bytes does not fit a task of ${pieceCount} pieces`)
    }
  }
  const numbers: number[] = []
  for (let at = 0; at < bitfield.length; at++) {
    const byte = (bitfield[at] ?? 0) & ~(previous?.[at] ?? 0)
    if (byte === 0) continue
    for (let bit = 0; bit < 8; bit++) {
      if ((byte & (0x80 >> bit)) === 0) continue
      const number = at * 8 + bit
      if (number >= pieceCount) throw new DamselflyError('INVALID_ARGUMENT', `a piece bitfield lists piece ${number} of a task of ${pieceCount} pieces`)
      numbers.push(number)
    }
  }
  return numbers
}
