import { useCallback, useEffect, useState } from 'react'
import { api } from '../../api/client'
import type { Job, JobHostRow } from '../../api/types'
import { mergeHostRows, NO_ROWS, type HostRows } from './host-rows'

/** What the hook needs of an `EventSource`; tests hand in a fake. */
export interface EventSourceLike {
  addEventListener(type: 'host' | 'job', listener: (event: MessageEvent<string>) => void): void
  onerror: ((event: Event) => void) | null
  close(): void
}

export type OpenEvents = (url: string) => EventSourceLike

/** Same origin, so the browser sends the session cookie with it. */
const openEventSource: OpenEvents = (url) => new EventSource(url)

/** After the stream fails: one request a second, the job every fifth, its host rows the others. */
const POLL_MS = 1000
const JOB_EVERY = 5
const HOSTS_PER_PAGE = 1000

export interface LiveJob {
  readonly job: Job | undefined
  readonly rows: HostRows
  /** `events` while the stream feeds the table, `polling` once it failed. */
  readonly via: 'events' | 'polling'
  /** The last failure, one line; cleared by the next answer. */
  readonly error: string | undefined
}

interface Held extends LiveJob {
  readonly id: string
}

function fresh(id: string): Held {
  return { id, job: undefined, rows: NO_ROWS, via: 'events', error: undefined }
}

function messageOf(failure: unknown): string {
  return failure instanceof Error ? failure.message : String(failure)
}

/**
 * A job and its host rows, live: from `GET /api/v1/jobs/:id/events` (`event: job`, `event: host`)
 * until the job ends, or, when the stream fails, by polling `/hosts` once a second. `show` takes
 * a job an action answered; `restart` opens the stream again (after a rerun, say).
 */
export function useLiveJob(id: string, open: OpenEvents = openEventSource): LiveJob & { readonly show: (job: Job) => void; readonly restart: () => void } {
  const [held, setHeld] = useState<Held>(() => fresh(id))
  const [generation, setGeneration] = useState(0)

  useEffect(() => {
    const change = (update: (state: Held) => Held): void => setHeld((previous) => update(previous.id === id ? previous : fresh(id)))
    const controller = new AbortController()
    let ended = false
    let timer: ReturnType<typeof setInterval> | undefined

    const poll = (): void => {
      let tick = 0
      let busy = false
      let doneSeen = false
      const step = async (): Promise<void> => {
        const askJob = tick % JOB_EVERY === 0
        tick++
        if (askJob) {
          const job = await api.get('/api/v1/jobs/{id}', { path: { id }, signal: controller.signal })
          doneSeen = job.phase === 'done'
          change((state) => ({ ...state, job, error: undefined }))
          return
        }
        const page = await api.list('/api/v1/jobs/{id}/hosts', { path: { id }, query: { per_page: String(HOSTS_PER_PAGE) }, signal: controller.signal })
        change((state) => ({ ...state, rows: mergeHostRows(state.rows, page.items), error: undefined }))
        // The rows read after the job ended are its last.
        if (doneSeen) clearInterval(timer)
      }
      timer = setInterval(() => {
        if (busy || document.visibilityState !== 'visible') return
        busy = true
        step().catch((failure: unknown) => {
          if (!controller.signal.aborted) change((state) => ({ ...state, error: messageOf(failure) }))
        }).finally(() => {
          busy = false
        })
      }, POLL_MS)
    }

    const source = open(`/api/v1/jobs/${encodeURIComponent(id)}/events`)
    source.addEventListener('host', (event) => {
      const row = JSON.parse(event.data) as JobHostRow
      change((state) => ({ ...state, rows: mergeHostRows(state.rows, [row]) }))
    })
    source.addEventListener('job', (event) => {
      const job = JSON.parse(event.data) as Job
      change((state) => ({ ...state, job, via: 'events', error: undefined }))
      // The server ends the stream after the last event; left open, EventSource would reconnect.
      if (job.phase === 'done') {
        ended = true
        source.close()
      }
    })
    source.onerror = () => {
      if (ended) return
      ended = true
      source.close()
      change((state) => ({ ...state, via: 'polling' }))
      poll()
    }
    return () => {
      ended = true
      source.close()
      clearInterval(timer)
      controller.abort()
    }
  }, [id, generation, open])

  const show = useCallback((job: Job) => setHeld((previous) => previous.id === id ? { ...previous, job } : { ...fresh(id), job }), [id])
  const restart = useCallback(() => setGeneration((value) => value + 1), [])
  const current = held.id === id ? held : fresh(id)
  return { job: current.job, rows: current.rows, via: current.via, error: current.error, show, restart }
}
