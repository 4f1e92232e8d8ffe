import { WebSocket } from 'undici'
import type { CpuProfile } from './cpu-profile.js'

/** A child's memory as `process.memoryUsage()` reports it, in bytes. */
export interface ProcessMemory {
  readonly rssBytes: number
  readonly heapUsedBytes: number
  readonly heapTotalBytes: number
  readonly externalBytes: number
}

interface InspectorReply {
  readonly id?: number
  readonly result?: unknown
  readonly error?: { readonly message: string }
}

/** `--inspect=127.0.0.1:0` makes Node print this line, with the port it picked, on stderr. */
const LISTENING_LINE = /Debugger listening on (ws:\/\/\S+)/

/** The inspector's WebSocket URL from a child's log, once it has printed it. */
export function inspectorUrlIn(log: string): string | undefined {
  return LISTENING_LINE.exec(log)?.[1]
}

/**
 * A DevTools protocol session with a child started with `--inspect=127.0.0.1:0`: lets a bench
 * collect the child's garbage before reading its memory, and profile its CPU, without any code in
 * the child for either. Only for benches: the inspector must never be exposed beyond loopback.
 */
export class InspectorSession {
  private nextId = 1
  private readonly pending = new Map<number, { resolve: (result: unknown) => void; reject: (error: Error) => void }>()

  private constructor(private readonly socket: WebSocket) {
    socket.addEventListener('message', (event) => {
      const reply = JSON.parse(String(event.data)) as InspectorReply
      if (reply.id === undefined) return
      const waiter = this.pending.get(reply.id)
      this.pending.delete(reply.id)
      if (reply.error !== undefined) waiter?.reject(new Error(`inspector: ${reply.error.message}`))
      else waiter?.resolve(reply.result)
    })
    socket.addEventListener('close', () => {
      for (const waiter of this.pending.values()) waiter.reject(new Error('inspector: the session closed'))
      this.pending.clear()
    })
  }

  static connect(url: string, timeoutMs: number): Promise<InspectorSession> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(url)
      const timer = setTimeout(() => {
        socket.close()
        reject(new Error(`inspector: no connection to ${url} within ${timeoutMs} ms`))
      }, timeoutMs)
      socket.addEventListener('open', () => {
        clearTimeout(timer)
        resolve(new InspectorSession(socket))
      }, { once: true })
      socket.addEventListener('error', () => {
        clearTimeout(timer)
        reject(new Error(`inspector: cannot connect to ${url}`))
      }, { once: true })
    })
  }

  send(method: string, params: Record<string, unknown> = {}): Promise<unknown> {
    const id = this.nextId++
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject })
      this.socket.send(JSON.stringify({ id, method, params }))
    })
  }

  /** A full garbage collection in the child, then its memory: what live objects hold, not garbage. */
  async memoryAfterGc(): Promise<ProcessMemory> {
    await this.send('HeapProfiler.collectGarbage')
    const reply = (await this.send('Runtime.evaluate', {
      expression: 'JSON.stringify(process.memoryUsage())',
      returnByValue: true,
    })) as { result?: { value?: unknown } }
    if (typeof reply.result?.value !== 'string') throw new Error('inspector: process.memoryUsage() returned nothing')
    const usage = JSON.parse(reply.result.value) as { rss: number; heapUsed: number; heapTotal: number; external: number }
    return { rssBytes: usage.rss, heapUsedBytes: usage.heapUsed, heapTotalBytes: usage.heapTotal, externalBytes: usage.external }
  }

  /** Starts V8's sampling profiler in the child, one sample every `intervalUs`. */
  async startProfiling(intervalUs: number): Promise<void> {
    await this.send('Profiler.enable')
    await this.send('Profiler.setSamplingInterval', { interval: intervalUs })
    await this.send('Profiler.start')
  }

  async stopProfiling(): Promise<CpuProfile> {
    const reply = (await this.send('Profiler.stop')) as { profile: CpuProfile }
    await this.send('Profiler.disable')
    return reply.profile
  }

  close(): void {
    this.socket.close()
  }
}
