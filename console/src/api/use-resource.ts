import { useCallback, useEffect, useEffectEvent, useState } from 'react'

export interface Resource<T> {
  /** The last answer for this key; kept while a refresh is in flight, so a table does not blink. */
  readonly data: T | undefined
  /** The last failure's message, one line; cleared by the next success. */
  readonly error: string | undefined
  /** True until the first answer (or failure) for this key. */
  readonly loading: boolean
  /** Loads again now. */
  readonly reload: () => void
}

interface Loaded<T> {
  readonly key: string
  readonly data: T | undefined
  readonly error: string | undefined
}

function messageOf(failure: unknown): string {
  return failure instanceof Error ? failure.message : String(failure)
}

/**
 * Loads `load` when `key` changes, and again every `refreshMs` while the page is visible (never
 * more than once a second: a console left open must not load the manager). A load that a newer
 * one overtook is aborted and its answer dropped.
 */
export function useResource<T>(load: (signal: AbortSignal) => Promise<T>, key: string, options: { refreshMs?: number } = {}): Resource<T> {
  const [loaded, setLoaded] = useState<Loaded<T> | undefined>(undefined)
  const [generation, setGeneration] = useState(0)
  const start = useEffectEvent((signal: AbortSignal) => load(signal))

  useEffect(() => {
    const controller = new AbortController()
    start(controller.signal).then((data) => {
      if (!controller.signal.aborted) setLoaded({ key, data, error: undefined })
    }, (failure: unknown) => {
      if (!controller.signal.aborted) setLoaded((previous) => ({ key, data: previous?.key === key ? previous.data : undefined, error: messageOf(failure) }))
    })
    return () => controller.abort()
  }, [key, generation])

  const refreshMs = options.refreshMs === undefined ? undefined : Math.max(1000, options.refreshMs)
  useEffect(() => {
    if (refreshMs === undefined) return undefined
    const timer = setInterval(() => {
      if (document.visibilityState === 'visible') setGeneration((value) => value + 1)
    }, refreshMs)
    return () => clearInterval(timer)
  }, [refreshMs, key])

  const reload = useCallback(() => setGeneration((value) => value + 1), [])
  const current = loaded?.key === key ? loaded : undefined
  return { data: current?.data, error: current?.error, loading: current === undefined, reload }
}
