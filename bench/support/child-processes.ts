import { spawn, type ChildProcess } from 'node:child_process'
import { closeSync, openSync } from 'node:fs'
import { performance } from 'node:perf_hooks'

/** How a command ended and how long it took from spawn to exit. */
export interface TimedExit {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stderr: string
  readonly elapsedMs: number
}

const STOP_GRACE_MS = 10_000

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
  return new Promise((done) => child.once('exit', () => done()))
}

/**
 * Every child a bench starts, so that a failure or an interrupt can kill each of them by its own
 * handle: nothing is matched by name, nothing outside this set is touched.
 */
export class ChildProcesses {
  private readonly running = new Set<ChildProcess>()

  /** Runs a command to completion; SIGKILLs it after `timeoutMs`. Stdout is discarded. */
  run(command: string, args: readonly string[], init: { timeoutMs: number }): Promise<TimedExit> {
    return new Promise((done, reject) => {
      const startedMs = performance.now()
      const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] })
      this.track(child)
      let stderr = ''
      let elapsedMs = 0
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
      const timer = setTimeout(() => child.kill('SIGKILL'), init.timeoutMs)
      child.once('exit', () => {
        elapsedMs = performance.now() - startedMs
      })
      child.once('error', (error) => {
        clearTimeout(timer)
        reject(error)
      })
      child.once('close', (code, signal) => {
        clearTimeout(timer)
        done({ code, signal, stderr, elapsedMs })
      })
    })
  }

  /** Starts a long-lived child whose stdout and stderr go to `logPath`. */
  start(command: string, args: readonly string[], init: { logPath: string; env: NodeJS.ProcessEnv }): ChildProcess {
    const log = openSync(init.logPath, 'a')
    try {
      const child = spawn(command, args, { stdio: ['ignore', log, log], env: init.env })
      this.track(child)
      return child
    } finally {
      closeSync(log)
    }
  }

  /** SIGTERM, then SIGKILL if it has not exited within the grace period. */
  async stop(child: ChildProcess): Promise<void> {
    child.kill('SIGTERM')
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS)
    await exited(child)
    clearTimeout(timer)
  }

  /** Stops every child still running; safe to call more than once. */
  async stopAll(): Promise<void> {
    await Promise.all([...this.running].map((child) => this.stop(child)))
  }

  private track(child: ChildProcess): void {
    this.running.add(child)
    child.once('exit', () => this.running.delete(child))
    child.once('error', () => this.running.delete(child))
  }
}
