import { cleanup, fireEvent, render, screen } from '@testing-library/react'
import { MemoryRouter, Route, Routes } from 'react-router'
import { afterEach, expect, it, vi } from 'vitest'
import type { Me } from '../../api/types'
import { SessionProvider } from '../../auth/session'
import { someCluster } from './cluster-fixtures'
import { EditClusterPage } from './edit-cluster'
import { fakeApi, type FakeAnswer, type SeenRequest } from './fake-api'

afterEach(() => {
  cleanup()
  vi.unstubAllGlobals()
})

const WRITER: Me = {
  id: 1, name: 'ops', email: '', state: 'enable', must_change_password: false, last_signin_at: null,
  created_at: '2026-12-01T07:00:00.000Z', updated_at: '2026-12-01T07:00:00.000Z', roles: ['operator'],
  permissions: [{ object: 'cluster', action: 'write' }],
}

function page(answer: (request: SeenRequest) => FakeAnswer = () => undefined) {
  const seen = fakeApi((request) => {
    if (request.path === '/api/v1/users/me') return { json: WRITER }
    if (request.method === 'GET' && request.path === '/api/v1/clusters/2') return { json: someCluster() }
    return answer(request)
  })
  render(
    <MemoryRouter initialEntries={['/clusters/2/edit']}>
      <SessionProvider>
        <Routes>
          <Route path="/clusters/:id/edit" element={<EditClusterPage />} />
          <Route path="/clusters/:id" element={<p>cluster page</p>} />
          <Route path="/clusters" element={<p>cluster list</p>} />
        </Routes>
      </SessionProvider>
    </MemoryRouter>,
  )
  return seen
}

const changes = (seen: readonly SeenRequest[]) => seen.filter((request) => request.method !== 'GET')

it('titles the page with the cluster and sends only what changed', async () => {
  const seen = page((request) => request.method === 'PATCH' ? { json: someCluster() } : undefined)
  await screen.findByRole('heading', { name: 'Edit cluster east' })
  fireEvent.change(screen.getByLabelText('Seed peer load limit'), { target: { value: '2500' } })
  fireEvent.change(screen.getByLabelText('IDC'), { target: { value: 'e2' } })
  fireEvent.click(screen.getByRole('button', { name: 'Save cluster' }))
  await screen.findByText('cluster page')
  expect(changes(seen).map((request) => [request.method, request.path, request.body])).toEqual([
    ['PATCH', '/api/v1/clusters/2', { scopes: { idc: 'e2' }, seed_peer_cluster_config: { load_limit: 2500 } }],
  ])
})

it('refuses a hostname pattern that does not compile, as the API would', async () => {
  const seen = page()
  await screen.findByRole('heading', { name: 'Edit cluster east' })
  fireEvent.change(screen.getByLabelText('Hostname patterns'), { target: { value: '^east-\n(unclosed' } })
  fireEvent.click(screen.getByRole('button', { name: 'Save cluster' }))
  expect((await screen.findByRole('alert')).textContent).toBe('body.scopes.hostnames[1]: must be a valid regular expression')
  expect(changes(seen)).toEqual([])
})

it('deletes only after a second, keyboard-reachable step, and Escape backs out', async () => {
  const seen = page((request) => request.method === 'DELETE' ? { status: 204 } : undefined)
  fireEvent.click(await screen.findByRole('button', { name: 'Delete cluster' }))
  const confirm = screen.getByRole('button', { name: 'Delete' })
  expect(document.activeElement).toBe(confirm)
  expect(changes(seen)).toEqual([])
  fireEvent.keyDown(confirm, { key: 'Escape' })
  expect(screen.queryByRole('button', { name: 'Delete' })).toBeNull()
  expect(document.activeElement).toBe(screen.getByRole('button', { name: 'Delete cluster' }))
  fireEvent.click(screen.getByRole('button', { name: 'Delete cluster' }))
  fireEvent.click(screen.getByRole('button', { name: 'Delete' }))
  await screen.findByText('cluster list')
  expect(changes(seen).map((request) => `${request.method} ${request.path}`)).toEqual(['DELETE /api/v1/clusters/2'])
})
