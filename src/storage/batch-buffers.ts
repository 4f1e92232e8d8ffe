/**
 * The write batches of every piece writer of a store. A batch comes back once its write has
 * landed and goes to the next piece, so a steady download allocates no buffers after its first
 * pieces and leaves the garbage collector nothing to trace. Holds at most `maxSpareCount` idle.
 */
export class BatchBuffers {
  private readonly spare: Buffer[] = []
  /** Buffers allocated so far: after the first pieces, a steady download adds none. */
  allocatedCount = 0

  constructor(readonly init: { readonly batchBytes: number; readonly maxSpareCount: number }) {}

  /** A buffer of `batchBytes` to fill; its bytes are whatever the last user left. */
  take(): Buffer {
    const spare = this.spare.pop()
    if (spare !== undefined) return spare
    this.allocatedCount++
    return Buffer.allocUnsafeSlow(this.init.batchBytes)
  }

  /** Hands a buffer back once nothing reads it any more (its write has landed). */
  give(buffer: Buffer): void {
    if (buffer.length === this.init.batchBytes && this.spare.length < this.init.maxSpareCount) this.spare.push(buffer)
  }
}

/** 256 KiB batches: few writes per piece, little held per piece; 4 MiB idle at most. */
export const DEFAULT_BATCH_BUFFERS = { batchBytes: 256 * 1024, maxSpareCount: 16 } as const
