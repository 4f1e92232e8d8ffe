import { vi } from 'vitest'

/** A request the page made, as the fake API saw it. */
export interface SeenRequest {
  readonly method: string
  readonly path: string
  readonly query: URLSearchParams
  readonly body: unknown
}

/** What the fake API answers a request with; undefined: 404. */
export type FakeAnswer = { readonly status?: number; readonly json?: unknown; readonly total?: number } | undefined

/**
 * Stubs `fetch` with `answer` for the pages' tests and records every request; each test's
 * `afterEach` calls `vi.unstubAllGlobals()`.
 */
export function fakeApi(answer: (request: SeenRequest) => FakeAnswer): SeenRequest[] {
  const seen: SeenRequest[] = []
  vi.stubGlobal('fetch', vi.fn((input: string, init?: RequestInit) => {
    const url = new URL(input, 'http://console.test')
    const request: SeenRequest = { method: init?.method ?? 'GET', path: url.pathname, query: url.searchParams, body: typeof init?.body === 'string' ? JSON.parse(init.body) as unknown : undefined }
    seen.push(request)
    const answered = answer(request)
    if (answered === undefined) return Promise.resolve(new Response(JSON.stringify({ code: 'NOT_FOUND', message: `no route ${request.path}` }), { status: 404 }))
    const headers: Record<string, string> = { 'content-type': 'application/json' }
    if (answered.total !== undefined) headers['total-count'] = String(answered.total)
    const status = answered.status ?? 200
    return Promise.resolve(new Response(status === 204 ? null : JSON.stringify(answered.json ?? null), { status, headers }))
  }))
  return seen
}
