/** Bits per word: 30, so that every word is a small integer, which V8 keeps unboxed. */
const BITS_PER_WORD = 30

/** Words a set grows to at once beyond this many: below, exactly what it needs (8 bytes a word). */
const EXACT_GROWTH_WORDS = 64

/**
 * A set of piece numbers as a bitset: every peer holds a few (the pieces it has, the digests it
 * was sent), and a `Set<number>` of 16 pieces costs about 390 bytes where this costs about 50.
 * Pieces 0 to 29 live in a field of their own, so a task of up to 30 pieces allocates no array;
 * beyond, the array is sized to the highest number held, so callers keep numbers within a
 * task's pieces (request-parsing.ts bounds them by MAX_PIECE_NUMBER). Iterates in ascending order.
 */
export class PieceSet implements Iterable<number> {
  private firstWord = 0
  /** Word i holds pieces 30 × (i + 1) to 30 × (i + 2) - 1. */
  private moreWords: number[] | undefined
  private count = 0

  get size(): number {
    return this.count
  }

  has(number: number): boolean {
    const index = Math.floor(number / BITS_PER_WORD)
    const word = index === 0 ? this.firstWord : this.moreWords?.[index - 1]
    return word !== undefined && (word & (1 << number % BITS_PER_WORD)) !== 0
  }

  /** Adds `number`; true when it was not held before. */
  add(number: number): boolean {
    const index = Math.floor(number / BITS_PER_WORD)
    const bit = 1 << number % BITS_PER_WORD
    if (index === 0) {
      if ((this.firstWord & bit) !== 0) return false
      this.firstWord |= bit
    } else {
      const words = this.wordsUpTo(index - 1)
      const word = words[index - 1] ?? 0
      if ((word & bit) !== 0) return false
      words[index - 1] = word | bit
    }
    this.count++
    return true
  }

  clear(): void {
    this.firstWord = 0
    this.moreWords = undefined
    this.count = 0
  }

  *[Symbol.iterator](): Iterator<number> {
    yield* bitsOf(this.firstWord, 0)
    const words = this.moreWords ?? []
    for (let index = 0; index < words.length; index++) yield* bitsOf(words[index] ?? 0, (index + 1) * BITS_PER_WORD)
  }

  /** The array of further words, long enough to hold word `index`. */
  private wordsUpTo(index: number): number[] {
    const words = this.moreWords ?? []
    if (index < words.length) return words
    // A new array of the length wanted, zero-filled: pushing would reserve room for 16 more words.
    const length = index < EXACT_GROWTH_WORDS ? index + 1 : index + 1 + (index >> 2)
    const grown = new Array<number>(length).fill(0)
    for (let i = 0; i < words.length; i++) grown[i] = words[i] ?? 0
    this.moreWords = grown
    return grown
  }
}

/** The piece numbers of the bits set in `word`, whose bit 0 is piece `base`, ascending. */
function* bitsOf(word: number, base: number): Generator<number> {
  let rest = word
  while (rest !== 0) {
    const lowest = rest & -rest
    yield base + (31 - Math.clz32(lowest))
    rest ^= lowest
  }
}
