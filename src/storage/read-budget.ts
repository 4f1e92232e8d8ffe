/** The memory every open read stream of a store may hold together, spread evenly over them. */
export interface ReadBudgetInit {
  readonly budgetBytes: number
  /** No stream reads less at once, however many are open: each read costs a system call. */
  readonly minChunkBytes: number
  /** No stream reads more at once, however few are open. */
  readonly maxChunkBytes: number
}

/** 8 MiB shared: up to 32 readers read 256 KiB at a time, 512 and more 16 KiB. */
export const DEFAULT_READ_BUDGET: ReadBudgetInit = { budgetBytes: 8 * 1024 * 1024, minChunkBytes: 16 * 1024, maxChunkBytes: 256 * 1024 }

const PAGE_BYTES = 4096

/**
 * Bounds the memory of a store's read streams together instead of one by one: every stream asks
 * before each read how much to read, and the answer shrinks as more streams are open. Hundreds of
 * clients reading at once then hold about what a few do, while a lone reader still reads in large
 * chunks. A stream holds a chunk or two at a time, so the store's reads hold about twice the
 * budget, except past `budgetBytes / minChunkBytes` open streams.
 */
export class ReadBudget {
  private openStreams = 0

  constructor(private readonly init: ReadBudgetInit = DEFAULT_READ_BUDGET) {}

  /** Counts a stream as open until the returned function is called (safe to call twice). */
  open(): () => void {
    this.openStreams++
    let released = false
    return () => {
      if (released) return
      released = true
      this.openStreams--
    }
  }

  /** How many bytes a stream should read next: the budget's share of each open stream, in whole pages. */
  chunkBytes(): number {
    const { budgetBytes, minChunkBytes, maxChunkBytes } = this.init
    const share = Math.floor(budgetBytes / Math.max(1, this.openStreams) / PAGE_BYTES) * PAGE_BYTES
    return Math.min(maxChunkBytes, Math.max(minChunkBytes, share))
  }
}
