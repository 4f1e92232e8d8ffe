import { DamselflyError } from '../../protocol/damselfly-error.js'
import { createHasher, formatDigest, parseDigest } from '../../protocol/digest.js'
import type { ContentStore, StoredTask } from '../../storage/content-store.js'

const HASHED = Promise.resolve()

/** The digest of the first `contentLengthBytes` of a stored task, in `expected`'s algorithm, as `<algorithm>:<hex>`. */
export async function contentDigestOf(task: StoredTask, expected: string, contentLengthBytes: number, signal: AbortSignal): Promise<string> {
  const hasher = createHasher(parseDigest(expected).algorithm)
  if (contentLengthBytes > 0) {
    // Into the store's reused buffers: a read stream would allocate every chunk of the content.
    await task.sendRange(0, contentLengthBytes - 1, (chunk) => {
      hasher.update(chunk)
      return HASHED
    }, signal).catch((error: unknown) => {
      throw signal.aborted ? new DamselflyError('CANCELLED', 'digest check cancelled', { cause: error }) : error
    })
  }
  return formatDigest(hasher.digest())
}

/**
 * Checks the whole content of a stored task against `expected` (`<algorithm>:<hex>`). A mismatch
 * deletes the task, so the bad bytes are never served again, and fails with DIGEST_MISMATCH.
 */
export async function verifyContentDigest(
  store: ContentStore,
  task: StoredTask,
  expected: string,
  signal: AbortSignal,
  /** For content of unknown length checked before `finish()` records its length. */
  contentLengthBytes = task.descriptor.contentLengthBytes ?? 0,
): Promise<void> {
  if (task.verifiedDigest === expected) return
  const actual = await contentDigestOf(task, expected, contentLengthBytes, signal)
  if (actual !== expected) {
    await store.delete(task.descriptor.taskId, { force: true })
    throw new DamselflyError('DIGEST_MISMATCH', `content digest is ${actual}, expected ${expected}; the content was removed`, {
      details: { taskId: task.descriptor.taskId },
    })
  }
  if (task.complete) await task.recordVerifiedDigest(expected)
}
