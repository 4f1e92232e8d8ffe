import type { FileHandle } from 'node:fs/promises'
import type { BatchBuffers } from './batch-buffers.js'

/**
 * Takes a range's bytes in order. The chunk's memory is read into again once the returned promise
 * resolves, so a sink resolves only when it no longer needs the bytes (a socket has written them).
 */
export type RangeSink = (chunk: Buffer) => Promise<void>

/**
 * Sends bytes `[start, endInclusive]` of an open file to `sink`, reading `chunkBytes` at a time
 * into two buffers it reuses: one is being sent while the other is read, and neither is read into
 * before the sink resolved for its last chunk. The buffers come from `buffers` (and go back) when
 * the budget's chunk is their size, the usual case with few readers, so serving pieces allocates
 * nothing; that, and no stream between file and socket, is what makes it cheaper than a read
 * stream piped into the response. Rejects with the file system's error, with an error if the file
 * ends early, or with the sink's failure; stops once `signal` aborts.
 */
export async function sendFileRange(
  handle: FileHandle,
  range: { start: number; endInclusive: number },
  memory: { buffers: BatchBuffers; chunkBytes: number },
  sink: RangeSink,
  signal: AbortSignal,
): Promise<void> {
  const pooled = memory.chunkBytes === memory.buffers.init.batchBytes
  const take = (): Buffer => (pooled ? memory.buffers.take() : Buffer.allocUnsafeSlow(memory.chunkBytes))
  const buffers = [take(), take()] as const
  const sent: [Promise<void>, Promise<void>] = [Promise.resolve(), Promise.resolve()]
  let position = range.start
  for (let turn: 0 | 1 = 0; position <= range.endInclusive; turn = turn === 0 ? 1 : 0) {
    await sent[turn]
    signal.throwIfAborted()
    const buffer = buffers[turn]
    const { bytesRead } = await handle.read(buffer, 0, Math.min(buffer.length, range.endInclusive - position + 1), position)
    if (bytesRead === 0) throw new Error(`the file ends at byte ${position}, before byte ${range.endInclusive}`)
    position += bytesRead
    const sending = sink(buffer.subarray(0, bytesRead))
    // Awaited on this buffer's next turn or at the end; a failure meanwhile must not go unhandled.
    sending.catch(() => undefined)
    sent[turn] = sending
  }
  await Promise.all(sent)
  // Only once the sink is done with both may they serve another range. After a failure the sink
  // may still hold a chunk (a socket write under way), so those buffers are left to the collector.
  if (pooled) for (const buffer of buffers) memory.buffers.give(buffer)
}
