/**
 * Where a daemon's resident memory goes while it works, for the data-path bench's memory run:
 * V8's heap and the Buffers outside it, sampled from the daemon's own `/metrics` (prom-client's
 * process metrics), and the pages the kernel maps from files (the node binary and its shared
 * libraries), read from /proc. The rest of the resident set is the C heap of Node, V8 and OpenSSL.
 */
import { readFile } from 'node:fs/promises'
import { sampleIn } from '../../test/support/processes.js'

const SAMPLE_INTERVAL_MS = 100
const HEAP = 'damselfly_dfdaemon_nodejs_heap_size_total_bytes'
const EXTERNAL = 'damselfly_dfdaemon_nodejs_external_memory_bytes'

export interface MemoryBreakdown {
  /** The most of V8's heap that was committed at once. */
  readonly peakHeapBytes: number
  /**
   * The most memory outside V8's heap that Buffers and ArrayBuffers held at once: bytes being
   * handled, and buffers nothing uses any more that the garbage collector has not freed yet.
   */
  readonly peakExternalBytes: number
  /** Resident pages mapped from files (RssFile) as the watch ended. */
  readonly fileBackedBytes: number
  readonly samples: number
}

function sampleOf(metrics: string, name: string): number {
  const value = sampleIn(metrics, name)
  if (value === undefined) throw new Error(`the daemon's /metrics has no ${name}`)
  return value
}

async function fileBackedBytes(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8')
  const kib = /^RssFile:\s+(\d+) kB$/m.exec(status)?.[1]
  if (kib === undefined) throw new Error(`/proc/${pid}/status shows no RssFile`)
  return Number(kib) * 1024
}

/** Samples one daemon's memory every 100 ms from {@link MemoryWatch.start} until {@link MemoryWatch.stop}. */
export class MemoryWatch {
  private peakHeapBytes = 0
  private peakExternalBytes = 0
  private samples = 0
  private stopped = false
  /** Settles once sampling has stopped; holds the first failure to read the daemon's metrics. */
  private readonly sampling: Promise<Error | undefined>

  private constructor(
    private readonly metricsAddress: string,
    private readonly pid: number,
  ) {
    // A failure ends the sampling and waits for stop() to report it, rather than going unhandled.
    this.sampling = this.sampleUntilStopped().then(() => undefined, (error: unknown) => (error instanceof Error ? error : new Error(String(error))))
  }

  static start(daemon: { readonly metricsAddress: string; readonly child: { readonly pid?: number | undefined } }): MemoryWatch {
    if (daemon.child.pid === undefined) throw new Error('cannot watch the memory of a daemon that has no pid')
    return new MemoryWatch(daemon.metricsAddress, daemon.child.pid)
  }

  /** Stops sampling and returns the peaks; throws if the daemon's metrics could not be read. */
  async stop(): Promise<MemoryBreakdown> {
    this.stopped = true
    const failure = await this.sampling
    if (failure !== undefined) throw failure
    await this.sample()
    return { peakHeapBytes: this.peakHeapBytes, peakExternalBytes: this.peakExternalBytes, fileBackedBytes: await fileBackedBytes(this.pid), samples: this.samples }
  }

  private async sampleUntilStopped(): Promise<void> {
    while (!this.stopped) {
      await this.sample()
      await new Promise((resolve) => setTimeout(resolve, SAMPLE_INTERVAL_MS))
    }
  }

  /** Both figures from one read of `/metrics`: rendering it is work for the daemon being measured. */
  private async sample(): Promise<void> {
    const text = await (await fetch(`http://${this.metricsAddress.replace('0.0.0.0', '127.0.0.1')}/metrics`, { signal: AbortSignal.timeout(10_000) })).text()
    const heap = sampleOf(text, HEAP)
    const external = sampleOf(text, EXTERNAL)
    this.peakHeapBytes = Math.max(this.peakHeapBytes, heap)
    this.peakExternalBytes = Math.max(this.peakExternalBytes, external)
    this.samples++
  }
}
