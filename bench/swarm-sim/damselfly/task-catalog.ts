import { createHash } from 'node:crypto'
import type { TaskId } from '../../../src/protocol/ids.js'
import { pieceCount, pieceLengthFor, pieceRange } from '../../../src/protocol/piece.js'
import { taskIdFor } from '../../../src/protocol/task-id.js'
import type { DownloadAsked } from '../../../src/daemon/scheduler-client/peer-session.js'
import type { SimTask } from '../scenario.js'

/** A scenario's task as the simulated daemons and the scheduler name it. */
export interface CatalogTask {
  readonly sim: SimTask
  /** Where the origin serves it. */
  readonly url: string
  readonly taskId: TaskId
  readonly pieceCount: number
  /** A client's request for it, as a daemon registers it with the scheduler. */
  readonly asked: DownloadAsked
}

/**
 * The scenario's tasks with the names the real protocol needs: a URL on the origin, the task id
 * the scheduler recomputes from the download, and one digest per piece. Pieces carry no bytes, so
 * a piece's digest is a hash of its task and number: every peer that stores the piece reports the
 * same one, as with real content.
 */
export class TaskCatalog {
  readonly tasks: readonly CatalogTask[]
  private readonly byUrl = new Map<string, CatalogTask>()
  private readonly digests = new Map<TaskId, string[]>()

  constructor(tasks: readonly SimTask[], private readonly filteredQueryParams: readonly string[]) {
    this.tasks = tasks.map((sim) => this.describe(sim))
    for (const task of this.tasks) this.byUrl.set(task.url, task)
  }

  /** The task a download (a seed task's, say) names, if it is one of the scenario's. */
  forUrl(url: string): CatalogTask | undefined {
    return this.byUrl.get(url)
  }

  digest(task: CatalogTask, number: number): string {
    let digests = this.digests.get(task.taskId)
    if (digests === undefined) {
      digests = []
      this.digests.set(task.taskId, digests)
    }
    return (digests[number] ??= createHash('sha256').update(`${task.taskId}:${number}`).digest('hex'))
  }

  /** Offset and length of a piece. */
  range(task: CatalogTask, number: number): { offset: number; length: number } {
    return pieceRange(number, task.sim.sizeBytes, task.sim.pieceLengthBytes)
  }

  private describe(sim: SimTask): CatalogTask {
    const url = `http://origin.swarm-sim/${encodeURIComponent(sim.id)}`
    // A request fixes the piece length only when it is not the one Damselfly's rule gives; a fixed one names another task.
    const fixedPieceLengthBytes = sim.pieceLengthBytes === pieceLengthFor(sim.sizeBytes) ? undefined : sim.pieceLengthBytes
    const taskId = taskIdFor({ url, pieceLengthBytes: fixedPieceLengthBytes, filteredQueryParams: this.filteredQueryParams })
    const asked: DownloadAsked = {
      url,
      headers: {},
      filteredQueryParams: this.filteredQueryParams,
      pieceLengthBytes: fixedPieceLengthBytes,
      // dfget's defaults: priority 6, back-to-source allowed, no digest.
      priority: 6,
      disableBackToSource: false,
    }
    return { sim, url, taskId, pieceCount: pieceCount(sim.sizeBytes, sim.pieceLengthBytes), asked }
  }
}
