import { LRUCache } from 'lru-cache'
import type { TaskId } from '../protocol/ids.js'
import { taskIdFor, type TaskIdInput } from '../protocol/task-id.js'

/** Longer URLs (presigned ones, mostly: each client's differs) are worked out every time rather than kept. */
const MAX_REMEMBERED_URL_LENGTH = 2048

/**
 * {@link taskIdFor} that remembers its answers: every peer of a task names the same download,
 * and parsing its URL twice and hashing it cost a registration more than its decision. The
 * answer depends on the input alone, so a remembered one is the one taskIdFor would give.
 * Throws as taskIdFor does (a malformed URL is never remembered).
 */
export class TaskIds {
  private readonly known: LRUCache<string, TaskId>

  constructor(init: { maxEntries: number }) {
    this.known = new LRUCache({ max: init.maxEntries })
  }

  of(input: TaskIdInput): TaskId {
    if (input.url.length > MAX_REMEMBERED_URL_LENGTH) return taskIdFor(input)
    const key = JSON.stringify([input.url, input.tag ?? '', input.application ?? '', input.pieceLengthBytes ?? null, input.filteredQueryParams ?? null])
    const known = this.known.get(key)
    if (known !== undefined) return known
    const id = taskIdFor(input)
    this.known.set(key, id)
    return id
  }
}
