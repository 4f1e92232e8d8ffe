import { STATUS_CODES } from 'node:http'
import { DamselflyError } from '../../protocol/damselfly-error.js'
import type { TaskId } from '../../protocol/ids.js'
import { isFinalSourceStatus } from '../../protocol/source-status.js'
import { printableUrl } from '../../source/http-headers.js'

/** What this peer asked the origin for, as far as a relayed answer concerns it. */
export interface AskedOfSource {
  readonly url: string
  readonly digest?: string | undefined
  readonly taskId: TaskId
}

/** The origin's answer as the scheduler relays it (`source_failed`): a code and, for SOURCE_STATUS, the status. */
export interface RelayedFailure {
  readonly code: string
  readonly sourceStatus: number
}

/**
 * The error a download fails with when the scheduler relays the origin's final answer to a seed
 * peer that asked the same: the code a fetch of its own would have failed with (SOURCE_STATUS with
 * `details.sourceStatus`, or DIGEST_MISMATCH). Undefined for anything else a scheduler might send:
 * this daemon then asks the source itself rather than trust an answer it cannot read.
 */
export function relayedSourceFailure(failed: RelayedFailure, asked: AskedOfSource): DamselflyError | undefined {
  const url = printableUrl(new URL(asked.url))
  const status = failed.sourceStatus
  if (failed.code === 'SOURCE_STATUS' && isFinalSourceStatus(status)) {
    return new DamselflyError('SOURCE_STATUS', `origin answered ${status} ${STATUS_CODES[status] ?? 'Unknown Status'} for ${url} (to the seed peer fetching it for this host)`, {
      details: { sourceStatus: status, taskId: asked.taskId },
    })
  }
  if (failed.code === 'DIGEST_MISMATCH' && asked.digest !== undefined) {
    return new DamselflyError('DIGEST_MISMATCH', `content of ${url} does not match ${asked.digest}, as the seed peer fetching it for this host found; nothing was kept`, {
      details: { taskId: asked.taskId },
    })
  }
  return undefined
}
