import { cleanup, fireEvent, render, screen } from '@testing-library/react'
import { MemoryRouter, Route, Routes } from 'react-router'
import { afterEach, expect, it, vi } from 'vitest'
import { fakeApi } from './fake-api'
import { NewClusterPage } from './new-cluster'

afterEach(() => {
  cleanup()
  vi.unstubAllGlobals()
})

function page() {
  return render(
    <MemoryRouter initialEntries={['/clusters/new']}>
      <Routes>
        <Route path="/clusters/new" element={<NewClusterPage />} />
        <Route path="/clusters/:id" element={<p>cluster page</p>} />
      </Routes>
    </MemoryRouter>,
  )
}

it('refuses a bad CIDR with the API\'s own line, and sends nothing', async () => {
  const seen = fakeApi(() => ({ status: 201, json: { id: 9 } }))
  page()
  fireEvent.change(screen.getByLabelText('Name'), { target: { value: 'west' } })
  fireEvent.change(screen.getByLabelText('CIDRs'), { target: { value: '10.0.0.0/8\n10.0.0.0/33' } })
  fireEvent.click(screen.getByRole('button', { name: 'Create cluster' }))
  expect((await screen.findByRole('alert')).textContent).toBe('body.scopes.cidrs[1]: must be an address block such as 10.0.0.0/8')
  expect(seen).toHaveLength(0)
})

it('refuses a number out of the API\'s bounds', async () => {
  const seen = fakeApi(() => undefined)
  page()
  fireEvent.change(screen.getByLabelText('Name'), { target: { value: 'west' } })
  fireEvent.change(screen.getByLabelText('Candidate parents'), { target: { value: '21' } })
  fireEvent.click(screen.getByRole('button', { name: 'Create cluster' }))
  expect((await screen.findByRole('alert')).textContent).toMatch(/^body\.scheduler_cluster_config\.candidate_parent_limit: /)
  expect(seen).toHaveLength(0)
})

it('creates the cluster and opens its page', async () => {
  const seen = fakeApi((request) => request.method === 'POST' ? { status: 201, json: { id: 9, name: 'west' } } : undefined)
  page()
  fireEvent.change(screen.getByLabelText('Name'), { target: { value: 'west' } })
  fireEvent.change(screen.getByLabelText('Hostname patterns'), { target: { value: '^west-' } })
  fireEvent.change(screen.getByLabelText('Peer load limit'), { target: { value: '300' } })
  fireEvent.click(screen.getByRole('button', { name: 'Create cluster' }))
  await screen.findByText('cluster page')
  expect(seen.map((request) => `${request.method} ${request.path}`)).toEqual(['POST /api/v1/clusters'])
  expect(seen[0]?.body).toMatchObject({ name: 'west', scopes: { hostnames: ['^west-'] }, peer_cluster_config: { load_limit: 300 } })
})

it('shows the API\'s refusal in one line', async () => {
  fakeApi(() => ({ status: 409, json: { code: 'ALREADY_EXISTS', message: 'a cluster named west exists' } }))
  page()
  fireEvent.change(screen.getByLabelText('Name'), { target: { value: 'west' } })
  fireEvent.click(screen.getByRole('button', { name: 'Create cluster' }))
  expect((await screen.findByRole('alert')).textContent).toBe('a cluster named west exists')
})
