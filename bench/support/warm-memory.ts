/**
 * Memory of one temperature for every measured window.
 *
 * On a virtual machine whose balloon device reports free pages to the host (virtio-balloon free
 * page reporting, which this bench machine has: /sys/module/page_reporting), the host takes back
 * memory the guest has left free, and the guest's first write to such a page faults into the
 * host. The fault is charged to whichever process writes the page: on this machine writing 1 GiB
 * into tmpfs costs about 0.5 system CPU-seconds in memory the guest freed a moment ago and about
 * 3.0 in memory the host took back (`for i in $(seq 14); do /usr/bin/time -f %S dd if=/dev/zero
 * of=/dev/shm/f$i bs=1M count=1024 status=none; done`). A download writes its file into such
 * pages, so which of two scenarios run first decided, by up to 2.5 CPU-seconds per GiB, whose
 * CPU figure was worse.
 *
 * Writing a scratch file of the bytes a window is about to write and deleting it just before the
 * window leaves that much memory freshly freed and held by the guest; the kernel hands it out
 * before memory the host took back, so every scenario writes into the same kind of page. On a
 * machine without such a balloon this costs half a second per GiB of scratch and changes nothing.
 */
import { open, rm } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { join } from 'node:path'

const CHUNK_BYTES = 1024 * 1024
/** Where the scratch file goes: a tmpfs, so its pages are memory and nothing reaches a disk. */
const DEFAULT_SCRATCH_DIR = '/dev/shm'
/** Warmed beyond what a window writes to its files, for its processes' own allocations. */
const MARGIN_BYTES = 256 * 1024 ** 2
const FREE_PAGE_REPORTING = '/sys/module/page_reporting'

/**
 * Writes and deletes scratch in `dir` (a tmpfs): the bytes a window is about to write to its files
 * and 256 MiB, so that much memory is free and held by the guest.
 */
export async function warmMemory(windowWritesBytes: number, dir = DEFAULT_SCRATCH_DIR): Promise<void> {
  const bytes = windowWritesBytes + MARGIN_BYTES
  const path = join(dir, `damselfly-bench-warm-${process.pid}`)
  const chunk = Buffer.alloc(CHUNK_BYTES, 1)
  const file = await open(path, 'w')
  try {
    for (let written = 0; written < bytes; written += CHUNK_BYTES) await file.write(chunk, 0, Math.min(CHUNK_BYTES, bytes - written))
  } finally {
    await file.close()
    await rm(path, { force: true })
  }
}

/**
 * One line for a bench's method: what it warms and whether this machine's balloon reports free
 * pages, so warming matters. `size` says how large the scratch file is.
 */
export function warmMemoryNote(size: string): string {
  const reporting = existsSync(FREE_PAGE_REPORTING)
    ? 'this machine\'s balloon reports free pages to the host, whose memory then costs about 2.5 system CPU-seconds per GiB more to write first'
    : 'this machine reports no free pages to a host, so warming changes nothing here'
  return `before each measured window the bench writes and deletes a scratch file on /dev/shm ${size}, so every scenario writes into memory the guest holds (${reporting}; bench/support/warm-memory.ts)`
}
