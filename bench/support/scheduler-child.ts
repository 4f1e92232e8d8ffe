import type { ChildProcess } from 'node:child_process'
import { mkdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { cliPath, waitFor } from '../../test/support/processes.js'
import type { ChildProcesses } from './child-processes.js'
import { InspectorSession, inspectorUrlIn } from './inspector-session.js'

const STARTUP_TIMEOUT_MS = 60_000

/** `damselfly scheduler` in a child process of its own, so its CPU and memory are its alone. */
export interface SchedulerChild {
  readonly child: ChildProcess
  readonly logPath: string
  /** `127.0.0.1:<port>` of the gRPC server. */
  readonly address: string
  /** `127.0.0.1:<port>` of `/metrics`. */
  readonly metricsAddress: string
  /** A DevTools session with the child, for garbage collection and CPU profiles. */
  readonly inspector: InspectorSession
  /** Its cluster CA, from which simulated hosts get their identities; undefined when it runs --insecure. */
  readonly pkiDir: string | undefined
}

/**
 * Starts the built scheduler on 127.0.0.1, gRPC and metrics on port 0, with its inspector on a
 * loopback port 0, and returns once it listens and the inspector session is open.
 */
export async function startSchedulerChild(children: ChildProcesses, dir: string, options: { insecure?: boolean } = {}): Promise<SchedulerChild> {
  await mkdir(dir, { recursive: true })
  const logPath = join(dir, 'scheduler.log')
  const pkiDir = join(dir, 'pki')
  const child = children.start(
    process.execPath,
    ['--inspect=127.0.0.1:0', cliPath('damselfly'), 'scheduler', '--listen-ip', '127.0.0.1', '--port', '0', '--metrics-port', '0', ...(options.insecure === true ? ['--insecure'] : ['--pki-dir', pkiDir])],
    { logPath, env: process.env },
  )
  let listening: { address: string; metrics: string } | undefined
  let inspectorUrl: string | undefined
  await waitFor(async () => {
    const log = await readFile(logPath, 'utf8').catch(() => '')
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`the scheduler exited with ${child.exitCode ?? child.signalCode}: ${log.slice(-2000)}`)
    }
    inspectorUrl ??= inspectorUrlIn(log)
    const line = log.split('\n').find((text) => text.includes('"msg":"scheduler listening"'))
    listening ??= line === undefined ? undefined : (JSON.parse(line) as { address: string; metrics: string })
    return listening !== undefined && inspectorUrl !== undefined
  }, 'the scheduler to listen', STARTUP_TIMEOUT_MS)
  const inspector = await InspectorSession.connect(inspectorUrl!, STARTUP_TIMEOUT_MS)
  return { child, logPath, address: listening!.address, metricsAddress: listening!.metrics, inspector, pkiDir: options.insecure === true ? undefined : pkiDir }
}

/** The text of the scheduler's `/metrics`. */
export async function metricsText(metricsAddress: string): Promise<string> {
  const response = await fetch(`http://${metricsAddress}/metrics`)
  if (!response.ok) throw new Error(`GET /metrics from the scheduler answered ${response.status}`)
  return response.text()
}

/** The sum of every sample of `name` whose labels include all of `labels` (a prefix match on the series). */
export function sampleSum(text: string, name: string, labels: Readonly<Record<string, string>> = {}): number {
  let sum = 0
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue
    const rest = line.slice(name.length)
    if (rest[0] !== ' ' && rest[0] !== '{') continue
    const labelText = rest[0] === '{' ? rest.slice(1, rest.indexOf('}')) : ''
    if (!Object.entries(labels).every(([key, value]) => labelText.includes(`${key}="${value}"`))) continue
    sum += Number(line.slice(line.lastIndexOf(' ') + 1))
  }
  return sum
}

/** The peak resident set size of a process (`VmHWM`), in bytes; undefined without /proc. */
export async function peakRssBytes(pid: number | undefined): Promise<number | undefined> {
  if (pid === undefined) return undefined
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => undefined)
  const kib = /^VmHWM:\s+(\d+) kB$/m.exec(status ?? '')?.[1]
  return kib === undefined ? undefined : Number(kib) * 1024
}
