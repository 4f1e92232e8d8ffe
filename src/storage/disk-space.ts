import { statfs } from 'node:fs/promises'
import { formatBytes } from '../common/units.js'
import { DamselflyError } from '../protocol/damselfly-error.js'
import { storageFailed } from './storage-failed.js'

/** Size and space available to this process of the file system holding a path. */
export interface DiskSpace {
  readonly totalBytes: number
  /** Bytes an unprivileged process may still write (the root-reserved blocks excluded). */
  readonly freeBytes: number
}

/** Measures the file system holding `path`; fails with STORAGE_FAILED when it cannot. */
export async function diskSpace(path: string): Promise<DiskSpace> {
  try {
    const stats = await statfs(path)
    return { totalBytes: stats.blocks * stats.bsize, freeBytes: stats.bavail * stats.bsize }
  } catch (cause) {
    throw storageFailed(`measuring the disk space of ${path} failed`, cause)
  }
}

/**
 * Fails with NO_SPACE unless the file system holding `path` has `neededBytes` free beyond
 * `reserveBytes`, which are always kept free for the rest of the host.
 */
export async function ensureFreeSpace(
  path: string,
  neededBytes: number,
  reserveBytes: number,
  measure: (path: string) => Promise<DiskSpace> = diskSpace,
): Promise<void> {
  if (!Number.isFinite(neededBytes) || neededBytes < 0 || !Number.isFinite(reserveBytes) || reserveBytes < 0) {
    throw new DamselflyError('INVALID_ARGUMENT', `needed and reserved bytes must be non-negative, got ${neededBytes} and ${reserveBytes}`)
  }
  const { freeBytes } = await measure(path)
  if (freeBytes - reserveBytes >= neededBytes) return
  throw new DamselflyError(
    'NO_SPACE',
    `not enough disk space in ${path}: need ${formatBytes(neededBytes)}, ${formatBytes(freeBytes)} free (keeping ${formatBytes(reserveBytes)} reserved)`,
  )
}
