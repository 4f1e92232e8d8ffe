import { cleanup, fireEvent, render, screen, waitFor } from '@testing-library/react'
import { MemoryRouter, Route, Routes } from 'react-router'
import { afterEach, expect, it, vi } from 'vitest'
import { ClusterHostsTab } from './cluster-hosts'
import { fakeApi } from './fake-api'

afterEach(() => {
  cleanup()
  vi.unstubAllGlobals()
})

function page() {
  const seen = fakeApi((request) => {
    if (request.path === '/api/v1/hosts') return { json: [], total: 0 }
    if (request.path === '/api/v1/hosts/versions') return { json: [{ version: '0.1.0', count: 8 }, { version: '0.0.9', count: 4 }] }
    return undefined
  })
  render(<MemoryRouter initialEntries={['/clusters/2/hosts']}><Routes><Route path="/clusters/:id/hosts" element={<ClusterHostsTab />} /></Routes></MemoryRouter>)
  return seen
}

const hostQueries = (seen: ReturnType<typeof page>) => seen.filter((request) => request.path === '/api/v1/hosts').map((request) => Object.fromEntries(request.query))

it('asks for the cluster\'s hosts with the filters that are set, from the first page', async () => {
  const seen = page()
  await waitFor(() => expect(hostQueries(seen)).toHaveLength(1))
  fireEvent.change(screen.getByLabelText('Version'), { target: { value: '0.1.0' } })
  fireEvent.change(screen.getByLabelText('Type'), { target: { value: 'seed' } })
  fireEvent.change(screen.getByLabelText('Hostname'), { target: { value: ' east- ' } })
  fireEvent.click(screen.getByRole('button', { name: 'Filter' }))
  await waitFor(() => expect(hostQueries(seen)).toHaveLength(2))
  expect(hostQueries(seen)[1]).toEqual({ cluster_id: '2', version: '0.1.0', type: 'seed', hostname: 'east-', page: '1', per_page: '20' })
  const versions = seen.filter((request) => request.path === '/api/v1/hosts/versions').map((request) => Object.fromEntries(request.query))
  expect(versions.at(-1)).toEqual({ cluster_id: '2', type: 'seed' })
})

it('refuses a filter the API would refuse, with its line, and asks nothing', async () => {
  const seen = page()
  await waitFor(() => expect(hostQueries(seen)).toHaveLength(1))
  fireEvent.change(screen.getByLabelText('IDC'), { target: { value: 'x'.repeat(256) } })
  fireEvent.click(screen.getByRole('button', { name: 'Filter' }))
  expect((await screen.findByRole('alert')).textContent).toMatch(/^query\.idc: /)
  expect(hostQueries(seen)).toHaveLength(1)
})

it('charts how many hosts run each version', async () => {
  page()
  const chart = await screen.findByRole('img', { name: 'Hosts by version' })
  await waitFor(() => expect(chart.querySelectorAll('rect')).toHaveLength(2))
  expect(chart.querySelector('desc')?.textContent).toBe('0.1.0: hosts 8; 0.0.9: hosts 4')
})
