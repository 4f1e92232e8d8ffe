import { cleanup, render, screen } from '@testing-library/react'
import { MemoryRouter } from 'react-router'
import { afterEach, expect, it, vi } from 'vitest'
import { SessionProvider } from '../../auth/session'
import { fakeManager, someone } from './fake-manager'
import { UsersPage } from './users'

afterEach(() => {
  cleanup()
  vi.unstubAllGlobals()
})

function page() {
  return render(<MemoryRouter><SessionProvider><UsersPage /></SessionProvider></MemoryRouter>)
}

it('tells a user without the root role they may not see it, and asks nothing of the API', async () => {
  const seen = fakeManager((_method, path) => path === '/api/v1/users/me' ? { json: someone() } : undefined)
  page()
  expect(await screen.findByText('You may not see this page.')).toBeTruthy()
  expect(screen.getByRole('heading', { level: 1 }).textContent).toBe('Users')
  expect(screen.queryByRole('table')).toBeNull()
  expect(seen.map((request) => request.url)).toEqual(['/api/v1/users/me'])
}, 5_000)

it('lists users with their roles and a Disable or Enable button for root', async () => {
  const bob = { ...someone({ id: 3, name: 'bob', state: 'disable' }) }
  const seen = fakeManager((method, path) => {
    if (path === '/api/v1/users/me') return { json: someone({ id: 1, name: 'root', roles: ['root'] }) }
    if (path === '/api/v1/users') return { json: [bob], total: 1 }
    if (path === '/api/v1/roles') return { json: [{ id: 1, name: 'root' }, { id: 2, name: 'guest' }] }
    if (path === '/api/v1/users/3/roles') return { json: ['guest'] }
    if (method === 'PATCH') return { json: { ...bob, state: 'enable' } }
    return undefined
  })
  page()
  expect(await screen.findByRole('table', { name: 'Users' })).toBeTruthy()
  expect(await screen.findByText('guest')).toBeTruthy()
  screen.getByRole('button', { name: 'Enable' }).click()
  await vi.waitFor(() => expect(seen.find((request) => request.method === 'PATCH')).toEqual({ method: 'PATCH', url: '/api/v1/users/3', body: { state: 'enable' } }))
  expect(seen.find((request) => request.url.startsWith('/api/v1/users?'))?.url).toBe('/api/v1/users?page=1&per_page=20')
}, 5_000)
