import { cleanup, render, screen, within } from '@testing-library/react'
import { MemoryRouter } from 'react-router'
import { afterEach, expect, it, vi } from 'vitest'
import type { Me, Permission } from '../../api/types'
import { SessionProvider, useSession } from '../../auth/session'
import { someCluster } from './cluster-fixtures'
import { ClusterListPage } from './cluster-list'
import { fakeApi } from './fake-api'

afterEach(() => {
  cleanup()
  vi.unstubAllGlobals()
})

function someone(permissions: Permission[]): Me {
  return {
    id: 1, name: 'someone', email: '', state: 'enable', must_change_password: false, last_signin_at: null,
    created_at: '2026-12-01T07:00:00.000Z', updated_at: '2026-12-01T07:00:00.000Z', roles: [], permissions,
  }
}

/** Shows who is signed in, so a test can wait until the page knows what the user may do. */
function SignedInAs() {
  return <p>signed in as {useSession().me?.name}</p>
}

function page(me: Me) {
  const seen = fakeApi((request) => {
    if (request.path === '/api/v1/users/me') return { json: me }
    if (request.path === '/api/v1/clusters') return { json: [someCluster({ members: { active_schedulers: 2, active_seed_peers: 3, hosts: 41 } })], total: 1 }
    return undefined
  })
  render(<MemoryRouter><SessionProvider><SignedInAs /><ClusterListPage /></SessionProvider></MemoryRouter>)
  return seen
}

it('lists each cluster with its active schedulers, seed peers and hosts, linked to its page', async () => {
  const seen = page(someone([{ object: 'cluster', action: 'write' }]))
  const link = await screen.findByRole('link', { name: 'east' })
  expect(link.getAttribute('href')).toBe('/clusters/2')
  const row = link.closest('tr')
  if (row === null) throw new Error('no row')
  expect(within(row).getByText('2').getAttribute('data-label')).toBe('Schedulers')
  expect(within(row).getByText('3').getAttribute('data-label')).toBe('Seed peers')
  expect(within(row).getByText('41').getAttribute('data-label')).toBe('Hosts')
  expect((await screen.findByRole('link', { name: 'New cluster' })).getAttribute('href')).toBe('/clusters/new')
  expect(seen.find((request) => request.path === '/api/v1/clusters')?.query.get('page')).toBe('1')
})

it('offers no "New cluster" to a reader', async () => {
  page(someone([{ object: 'cluster', action: 'read' }]))
  await screen.findByText('signed in as someone')
  await screen.findByRole('link', { name: 'east' })
  expect(screen.queryByRole('link', { name: 'New cluster' })).toBeNull()
})
