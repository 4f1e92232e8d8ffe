/**
 * The data-path bench's memory run: a warm seed serves one child a large file, with a fixed piece
 * length and a number of pieces fetched at once, and each daemon's peak RSS is read: the seed's
 * while it fetched the file from the origin, the seed's while it served the child, the child's
 * while it downloaded.
 */
import { mkdir, rm } from 'node:fs/promises'
import { join } from 'node:path'
import type { Content } from '../../test/support/origin-server.js'
import type { ChildProcesses } from './child-processes.js'
import { CLIENT_DEADLINE_GRACE_MS, dfgetArgs, requireFromParent, ROLES, startWarmPair, verify } from './data-path-scenarios.js'
import { MemoryWatch, type MemoryBreakdown } from './memory-watch.js'
import { peakRssBytes, runMeasured, UsageWindow, type ProcessUsage } from './process-usage.js'
import { warmMemory } from './warm-memory.js'

/** One memory run: a piece length and a concurrency, fresh daemons. */
export interface MemorySample {
  readonly pieceLengthBytes: number
  readonly concurrentPieceCount: number
  /** The child's dfget, from spawn to exit. */
  readonly elapsedMs: number
  /** The seed's peak over its whole life up to the end of its own download from the origin. */
  readonly seedSourcePeakRssBytes: number
  /** Where the seed's memory went while it fetched the file from the origin. */
  readonly seedSource: MemoryBreakdown
  /** The seed's and the child's usage during the child's download. */
  readonly seedServing: ProcessUsage
  readonly child: ProcessUsage
  /** Where the child's memory went while it downloaded. */
  readonly childDownload: MemoryBreakdown
}

/** What a memory run needs besides its piece length and concurrency. */
export interface MemoryContext {
  readonly children: ChildProcesses
  readonly workDir: string
  readonly content: Content
  readonly downloadTimeoutMs: number
}

function usageOf(usages: readonly ProcessUsage[], role: string): ProcessUsage {
  const usage = usages.find((candidate) => candidate.role === role)
  if (usage === undefined) throw new Error(`no usage was measured for the ${role}`)
  return usage
}

/**
 * Starts a fresh scheduler, seed and child with `download.concurrentPieceCount` set, warms the
 * seed with the file at a fixed piece length, then measures the child's download of it. Stops
 * everything and removes its directory (unless DAMSELFLY_KEEP_TEST_DIRS=1) whatever happens.
 */
export async function runMemorySample(context: MemoryContext, init: { pieceLengthBytes: number; concurrentPieceCount: number }): Promise<MemorySample> {
  const dir = join(context.workDir, `memory-${init.pieceLengthBytes}-${init.concurrentPieceCount}`)
  await mkdir(dir, { recursive: true })
  try {
    const pair = await startWarmPair(context.children, dir, {
      content: context.content,
      daemonEnv: { DFDAEMON_DOWNLOAD_CONCURRENT_PIECE_COUNT: String(init.concurrentPieceCount) },
      pieceLengthBytes: init.pieceLengthBytes,
      downloadTimeoutMs: context.downloadTimeoutMs,
      watchSeedMemory: true,
    })
    const seedSource = pair.seedWarming
    if (seedSource === undefined) throw new Error('the seed\'s memory was not watched while it fetched the file')
    const seedSourcePeakRssBytes = await peakRssBytes(pair.seed.child.pid)
    if (seedSourcePeakRssBytes === undefined) throw new Error('cannot read the seed\'s peak RSS from /proc')
    const output = join(dir, 'dfget.out')
    await warmMemory(context.content.length, context.workDir)
    const window = await UsageWindow.open(pair.running)
    // Should the download fail, the watch ends on its own once the child is stopped below.
    const childWatch = MemoryWatch.start(pair.child)
    const { exit } = await runMeasured(context.children, {
      role: ROLES.dfget, command: process.execPath, args: dfgetArgs(pair.url, output, pair.child, { timeoutMs: context.downloadTimeoutMs, pieceLengthBytes: init.pieceLengthBytes }),
      usagePath: join(dir, 'dfget.usage'),
      timeoutMs: context.downloadTimeoutMs + CLIENT_DEADLINE_GRACE_MS,
    })
    const childDownload = await childWatch.stop()
    const { usages } = await window.close()
    await verify(output, context.content, 'the child\'s dfget')
    await requireFromParent(pair.seed, pair.child, context.content.length)
    return { ...init, elapsedMs: exit.elapsedMs, seedSourcePeakRssBytes, seedSource, seedServing: usageOf(usages, ROLES.parent), child: usageOf(usages, ROLES.child), childDownload }
  } finally {
    await context.children.stopAll()
    if (process.env['DAMSELFLY_KEEP_TEST_DIRS'] !== '1') await rm(dir, { recursive: true, force: true })
  }
}
