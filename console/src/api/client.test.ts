import { afterEach, expect, it, vi } from 'vitest'
import { api, ApiError, fillPath, queryString } from './client'

afterEach(() => vi.unstubAllGlobals())

it('fills and escapes path parameters, and refuses a missing one', () => {
  expect(fillPath('/api/v1/users/{id}/roles/{role}', { id: 3, role: 'a/b' })).toBe('/api/v1/users/3/roles/a%2Fb')
  expect(() => fillPath('/api/v1/users/{id}', {})).toThrow(/no value for \{id\}/)
})

it('leaves empty filters out of the query string and repeats arrays', () => {
  expect(queryString({ page: 2, name: '', state: undefined, tag: ['a', 'b'] })).toBe('?page=2&tag=a&tag=b')
  expect(queryString({})).toBe('')
})

it('throws the API\'s own code and one-line message', async () => {
  vi.stubGlobal('fetch', vi.fn(() => Promise.resolve(new Response(JSON.stringify({ code: 'INVALID_ARGUMENT', message: 'body.name: too short' }), { status: 400 }))))
  const failure = await api.post('/api/v1/users/signin', { body: { name: '', password: 'x' } }).catch((error: unknown) => error)
  expect(failure).toBeInstanceOf(ApiError)
  expect((failure as ApiError).code).toBe('INVALID_ARGUMENT')
  expect((failure as ApiError).message).toBe('body.name: too short')
})

it('reads a page\'s total from Total-Count', async () => {
  vi.stubGlobal('fetch', vi.fn(() => Promise.resolve(new Response('[{"id":1}]', { status: 200, headers: { 'total-count': '41' } }))))
  const page = await api.list('/api/v1/users', { query: { page: '1', per_page: '1' } })
  expect(page.total).toBe(41)
  expect(page.items).toHaveLength(1)
})
