/**
 * What the job queue's tests share: a handler that records every run and whose behaviour each
 * test scripts per job, a logger whose lines a test can read, and a poll for a condition.
 */
import { createLogger, type Logger } from '../../common/logger.js'
import type { JobHandler } from './job-queue.js'

/** One call of the handler. */
export interface JobRun {
  readonly jobId: number
  readonly startedAtMs: number
  /** When the handler returned or threw; undefined while it runs. */
  endedAtMs: number | undefined
  readonly signal: AbortSignal
}

/** What the handler does for one job; resolving is success, rejecting a failure. */
export type JobBehaviour = (jobId: number, signal: AbortSignal) => Promise<void>

/** A handler that records its runs; jobs without a scripted behaviour succeed at once. */
export class RecordingHandler {
  readonly runs: JobRun[] = []
  private readonly behaviours = new Map<number, JobBehaviour>()
  private runningNow = 0
  /** The most runs at once seen so far. */
  maxRunning = 0

  readonly handler: JobHandler = async (jobId, signal) => {
    const run: JobRun = { jobId, startedAtMs: Date.now(), endedAtMs: undefined, signal }
    this.runs.push(run)
    this.runningNow += 1
    this.maxRunning = Math.max(this.maxRunning, this.runningNow)
    try {
      await this.behaviours.get(jobId)?.(jobId, signal)
    } finally {
      this.runningNow -= 1
      run.endedAtMs = Date.now()
    }
  }

  script(jobId: number, behaviour: JobBehaviour): void {
    this.behaviours.set(jobId, behaviour)
  }

  runsOf(jobId: number): JobRun[] {
    return this.runs.filter((run) => run.jobId === jobId)
  }

  /** Whether job `jobId` has finished at least `times` runs. */
  finished(jobId: number, times = 1): boolean {
    return this.runsOf(jobId).filter((run) => run.endedAtMs !== undefined).length >= times
  }
}

/** A promise a test resolves when it chooses: a job held until the test lets it go. */
export class Gate {
  readonly opened: Promise<void>
  private release: () => void = () => undefined

  constructor() {
    this.opened = new Promise((resolve) => (this.release = resolve))
  }

  open(): void {
    this.release()
  }
}

/** A logger at `info` whose lines, parsed, the test reads. */
export function recordingLogger(): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = []
  const logger = createLogger({ level: 'info', name: 'test', destination: { write: (line: string) => { lines.push(JSON.parse(line) as Record<string, unknown>) } } })
  return { logger, lines }
}

/** Polls until `check` holds; throws naming `what` after `timeoutMs`. Never a fixed sleep. */
export async function waitUntil(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (await check()) return
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}`)
}
