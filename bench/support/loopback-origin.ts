/**
 * The origin as a process of its own, so its CPU time and memory can be read like any other's:
 * bench/testbed's static-server.ts (run under tsx) on 127.0.0.1 port 0, serving one directory.
 */
import type { ChildProcess } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { z } from 'zod'
import { waitFor } from '../../test/support/processes.js'
import type { ChildProcesses } from './child-processes.js'

const STATIC_SERVER = resolve(import.meta.dirname, '..', 'testbed', 'static-server.ts')
const STARTUP_TIMEOUT_MS = 60_000
const LISTENING = z.object({ msg: z.literal('origin listening'), port: z.number().int().positive() })
const STATS = z.object({ bodyBytesSent: z.number() })

/** The port a complete `origin listening` log line names; undefined for any other line. */
function listeningPort(line: string): number | undefined {
  try {
    const parsed = LISTENING.safeParse(JSON.parse(line))
    return parsed.success ? parsed.data.port : undefined
  } catch {
    // Not JSON yet (a line still being written) or not JSON at all (tsx warnings): not the one.
    return undefined
  }
}

/** A running static-server process. */
export interface LoopbackOrigin {
  readonly child: ChildProcess
  /** The URL of `name`, a file in the served directory. */
  url(name: string): string
  /** HTTP body bytes the origin has sent since it started, by its own count. */
  bodyBytesSent(): Promise<number>
}

/** Starts the origin serving `servedDir`, its log in `logDir`; resolves once it listens. */
export async function startOrigin(children: ChildProcesses, servedDir: string, logDir: string): Promise<LoopbackOrigin> {
  const logPath = join(logDir, 'origin.log')
  const child = children.start(
    process.execPath,
    ['--import', 'tsx', STATIC_SERVER, '--dir', servedDir, '--ip', '127.0.0.1', '--port', '0'],
    { logPath, env: process.env },
  )
  let port: number | undefined
  await waitFor(async () => {
    const log = await readFile(logPath, 'utf8').catch(() => '')
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`the origin exited: ${log.slice(-1000)}`)
    for (const line of log.split('\n')) port ??= listeningPort(line)
    return port !== undefined
  }, 'the origin to listen', STARTUP_TIMEOUT_MS)
  const base = `http://127.0.0.1:${port}`
  return {
    child,
    url: (name) => `${base}/${name}`,
    bodyBytesSent: async () => {
      const answer = await fetch(`${base}/_stats`, { signal: AbortSignal.timeout(10_000) })
      return STATS.parse(await answer.json()).bodyBytesSent
    },
  }
}
