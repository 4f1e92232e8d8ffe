import { Session } from 'node:inspector/promises'
import type { CpuProfile } from './cpu-profile.js'
import type { ProcessMemory } from './inspector-session.js'

/**
 * The inspector of this very process, with the same calls as {@link InspectorSession} has for a
 * child: a full garbage collection before reading memory, and a CPU profile. For a bench that runs
 * what it measures in its own process.
 */
export class OwnProcessInspector {
  private readonly session = new Session()

  constructor() {
    this.session.connect()
  }

  /** A full garbage collection, then this process's memory: what live objects hold, not garbage. */
  async memoryAfterGc(): Promise<ProcessMemory> {
    await this.session.post('HeapProfiler.collectGarbage')
    const usage = process.memoryUsage()
    return { rssBytes: usage.rss, heapUsedBytes: usage.heapUsed, heapTotalBytes: usage.heapTotal, externalBytes: usage.external }
  }

  /** Starts V8's sampling profiler, one sample every `intervalUs`. */
  async startProfiling(intervalUs: number): Promise<void> {
    await this.session.post('Profiler.enable')
    await this.session.post('Profiler.setSamplingInterval', { interval: intervalUs })
    await this.session.post('Profiler.start')
  }

  async stopProfiling(): Promise<CpuProfile> {
    const { profile } = await this.session.post('Profiler.stop')
    await this.session.post('Profiler.disable')
    return profile as CpuProfile
  }

  close(): void {
    this.session.disconnect()
  }
}
