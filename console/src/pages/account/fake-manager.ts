import { vi } from 'vitest'
import type { Me } from '../../api/types'

/** A request the fake manager saw: method, path with query, and the parsed JSON body. */
export interface SeenRequest {
  readonly method: string
  readonly url: string
  readonly body: unknown
}

/** An answer: JSON with a status (and Total-Count for lists). */
export interface FakeAnswer {
  readonly status?: number
  readonly json?: unknown
  readonly total?: number
}

/**
 * Stubs `fetch` with a manager for component tests: `answer` maps `METHOD /path` (no query) to
 * what it answers; anything else is a 404. Returns what was asked, in order.
 */
export function fakeManager(answer: (method: string, path: string, body: unknown) => FakeAnswer | undefined): SeenRequest[] {
  const seen: SeenRequest[] = []
  vi.stubGlobal('fetch', vi.fn((input: string, init?: RequestInit) => {
    const method = init?.method ?? 'GET'
    const body: unknown = typeof init?.body === 'string' ? JSON.parse(init.body) : undefined
    seen.push({ method, url: input, body })
    const found = answer(method, input.split('?')[0] ?? input, body) ?? { status: 404, json: { code: 'NOT_FOUND', message: `no route ${method} ${input}` } }
    const status = found.status ?? 200
    const headers: Record<string, string> = { 'content-type': 'application/json' }
    if (found.total !== undefined) headers['total-count'] = String(found.total)
    return Promise.resolve(new Response(status === 204 ? null : JSON.stringify(found.json ?? null), { status, headers }))
  }))
  return seen
}

/** A signed-in user for `GET /api/v1/users/me`. */
export function someone(overrides: Partial<Me> = {}): Me {
  return {
    id: 2,
    name: 'alice',
    email: 'alice@example.com',
    state: 'enable',
    must_change_password: false,
    last_signin_at: '2026-01-02T03:04:05.000Z',
    created_at: '2026-01-01T00:00:00.000Z',
    updated_at: '2026-01-01T00:00:00.000Z',
    roles: ['guest'],
    permissions: [{ object: 'audit', action: 'read' }],
    ...overrides,
  }
}
