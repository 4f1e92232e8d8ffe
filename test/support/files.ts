import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256')
  for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) hash.update(chunk)
  return hash.digest('hex')
}

/** A fresh directory under the system temp dir, removed by the returned function unless DAMSELFLY_KEEP_TEST_DIRS=1 (for reading logs). */
export async function tempDir(prefix: string): Promise<{ path: string; remove: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), `damselfly-${prefix}-`))
  const keep = process.env['DAMSELFLY_KEEP_TEST_DIRS'] === '1'
  return { path, remove: () => (keep ? Promise.resolve() : rm(path, { recursive: true, force: true })) }
}

/** True when no two ranges overlap: no byte was served twice. */
export function disjoint(ranges: ReadonlyArray<readonly [number, number]>): boolean {
  const sorted = [...ranges].sort((a, b) => a[0] - b[0])
  return sorted.every((range, i) => i === 0 || (sorted[i - 1]?.[1] ?? -1) < range[0])
}

export const MiB = 1024 * 1024
