/**
 * The manager's job queue: it decides when a job runs and in which manager process. What a job
 * does, and its record with its per-host results, belong to the job's handler and the database;
 * the queue carries only job ids. Two implementations: `InProcessJobQueue` (one manager, nothing
 * survives a restart) and `BullMqJobQueue` (managers sharing a Redis, a job taken over by another
 * manager when the one running it dies). `job-queue.contract.ts` holds what both promise.
 */
import type { Startable } from '../../common/startable.js'

/**
 * Runs job `jobId`, in one manager at a time. The signal aborts when this process gives the job
 * up: at `stop()`, or when another manager may already have taken it over (BullMQ's lock lost).
 * The handler should then return soon without recording an outcome, since the job runs again:
 * on another manager (BullMQ), or when the job is queued again after a restart (in process).
 * A handler that throws is logged with the job id and never retried by the queue: the handler
 * writes the job's failure to its record before throwing, or catches and records it itself.
 */
export type JobHandler = (jobId: number, signal: AbortSignal) => Promise<void>

/** Runs a job's handler in one manager at a time. */
export interface JobQueue extends Startable {
  /**
   * Queues job `jobId` to run once, at `runAt` (now when undefined or past). Queuing an id already
   * queued or running is a no-op; once it has run, the id may be queued again. Throws
   * SHUTTING_DOWN after `stop()`, INTERNAL before `start()`, JOB_QUEUE_UNAVAILABLE when the
   * shared queue cannot be reached.
   */
  enqueue(jobId: number, runAt?: Date): Promise<void>
  /**
   * Removes a queued (not yet started) job; a running one is left to the caller's own
   * cancellation. A no-op for an id not queued; safe to repeat.
   */
  remove(jobId: number): Promise<void>
  /** Whether this process is running the job right now. */
  isRunningHere(jobId: number): boolean
}
