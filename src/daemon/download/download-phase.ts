import type { Logger } from '../../common/logger.js'
import type { StoredTask, TaskDescriptor } from '../../storage/content-store.js'
import type { PeerSession } from '../scheduler-client/peer-session.js'
import type { PieceSignals } from './piece-signals.js'
import type { TaskDownloadComponents, TaskDownloadInit } from './task-download.js'

/** Where a finished task's bytes came from, as the daemon's traffic metrics name it. */
export type ContentOrigin = 'remote_peer' | 'back_to_source'

/** How far a phase got: the whole task, or a task (maybe with some pieces, maybe none) for the next phase to finish. */
export type PhaseOutcome =
  | { readonly complete: true; readonly task: StoredTask; readonly from: ContentOrigin }
  | { readonly complete: false; readonly task: StoredTask | undefined }

/**
 * One way of filling a task's pieces: from the parents a scheduler offers (peer-phase.ts) or from
 * the source (source-phase.ts). Given what is stored so far, it fetches what it can; the
 * TaskDownload runs them in turn and checks, finishes and reports the result.
 */
export interface DownloadPhase {
  run(partial: StoredTask | undefined): Promise<PhaseOutcome>
}

/** The values of a new task a phase decides; the rest come from the request. */
export type NewTaskFields = Pick<TaskDescriptor, 'contentLengthBytes' | 'pieceLengthBytes' | 'etag' | 'lastModified' | 'contentType'>

/** What the phases of one TaskDownload share with it and with each other. */
export interface PhaseContext {
  readonly components: TaskDownloadComponents
  readonly init: TaskDownloadInit
  readonly signals: PieceSignals
  readonly log: Logger
  /** Aborts when the download stops: every piece request and scheduler wait listens on it. */
  readonly signal: AbortSignal
  /** The scheduler stream of this peer once a scheduler took the task; the source phase reports its pieces on it. */
  session: PeerSession | undefined
  /** Tells readers what they read (after a discard, the content fetched anew). */
  publishDescriptor(descriptor: TaskDescriptor): void
  /** Keeps the task from eviction until the download ends. */
  hold(task: StoredTask): void
  /** Makes room on disk for the task, then creates it in the store. */
  createTask(fields: NewTaskFields): Promise<StoredTask>
}
