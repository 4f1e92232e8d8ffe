import { vi } from 'vitest'

/** A request a page made, as the fake manager saw it. */
export interface SeenRequest {
  readonly method: string
  readonly path: string
  readonly query: URLSearchParams
  readonly body: unknown
}

/** How the fake manager answers one request: a JSON body and a status (200 unless given). */
export type Answer = { readonly status?: number; readonly body: unknown; readonly headers?: Record<string, string> }

/**
 * Stubs `fetch` with a manager that answers `route(method, path)`; the signed-in user (a root with
 * job write unless `permissions` says otherwise) answers `/api/v1/users/me`. Returns the requests seen.
 */
export function fakeManager(route: (request: SeenRequest) => Answer | undefined, permissions = [{ object: 'job', action: 'write' }]): SeenRequest[] {
  const seen: SeenRequest[] = []
  vi.stubGlobal('fetch', vi.fn((input: string, init?: RequestInit) => {
    const url = new URL(input, 'http://console.test')
    const request: SeenRequest = { method: init?.method ?? 'GET', path: url.pathname, query: url.searchParams, body: typeof init?.body === 'string' ? JSON.parse(init.body) as unknown : undefined }
    seen.push(request)
    const answer = url.pathname === '/api/v1/users/me'
      ? { body: { id: 1, name: 'ops', email: '', state: 'enable', must_change_password: false, last_signin_at: null, created_at: '', updated_at: '', roles: ['operator'], permissions } }
      : route(request) ?? { status: 404, body: { code: 'NOT_FOUND', message: `no route ${request.method} ${url.pathname}` } }
    return Promise.resolve(new Response(JSON.stringify(answer.body), { status: answer.status ?? 200, headers: { 'content-type': 'application/json', ...answer.headers } }))
  }))
  return seen
}
