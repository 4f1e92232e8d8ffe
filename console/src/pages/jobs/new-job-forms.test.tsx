import { cleanup, fireEvent, render, screen, waitFor } from '@testing-library/react'
import type { ReactNode } from 'react'
import { MemoryRouter, Route, Routes } from 'react-router'
import { afterEach, expect, it, vi } from 'vitest'
import { SessionProvider } from '../../auth/session'
import { distributionJob, stubApi } from './job-fixtures'
import { NewDistributionPage } from './new-distribution'
import { NewPreheatPage } from './new-preheat'

afterEach(() => {
  cleanup()
  vi.unstubAllGlobals()
})

const CLUSTERS = [{ id: 1, name: 'cluster-1' }, { id: 2, name: 'edge' }]

/** The manager: the clusters, and a job for any creation; the bodies posted are kept. */
function stubManager(): unknown[] {
  const posted: unknown[] = []
  stubApi((url, init) => {
    if (url.startsWith('/api/v1/clusters')) return { body: CLUSTERS, total: CLUSTERS.length }
    if (init?.method === 'POST' && typeof init.body === 'string') posted.push(JSON.parse(init.body))
    return { body: distributionJob({ id: 12 }) }
  })
  return posted
}

function renderAt(path: string, page: ReactNode) {
  render(
    <MemoryRouter initialEntries={[path]}>
      <SessionProvider>
        <Routes>
          <Route path={path} element={page} />
          <Route path="/jobs/:kind/:id" element={<p>job page</p>} />
        </Routes>
      </SessionProvider>
    </MemoryRouter>,
  )
}

function type(label: string, value: string): void {
  fireEvent.change(screen.getByLabelText(label), { target: { value } })
}

it('new preheat: every field of the contract, the API\'s own refusal in one line, then the body it takes', async () => {
  const posted = stubManager()
  renderAt('/jobs/preheats/new', <NewPreheatPage />)
  for (const label of ['Type', 'URL', 'Platform', 'Username', 'Password', 'Headers', 'Tag', 'Application', 'Filtered query params', 'Piece length', 'Scope', 'IPs', 'Count', 'Percentage', 'Timeout (seconds)']) {
    expect(screen.getByLabelText(label), label).toBeTruthy()
  }
  await waitFor(() => expect(screen.getByLabelText('edge')).toBeTruthy())
  expect(screen.getByRole('group', { name: 'Clusters' })).toBeTruthy()

  type('URL', 'ftp://registry.example/x')
  fireEvent.click(screen.getByRole('button', { name: 'Create preheat' }))
  expect(screen.getByRole('alert').textContent).toBe('body.args.url: must be an http or https URL')
  expect(posted).toEqual([])

  type('Type', 'file')
  type('URL', 'https://files.example/a.tar')
  type('Scope', 'all_seed_peers')
  type('IPs', '10.0.0.1\nnode-b')
  type('Count', '1')
  fireEvent.click(screen.getByLabelText('edge'))
  fireEvent.click(screen.getByRole('button', { name: 'Create preheat' }))
  await waitFor(() => expect(screen.getByText('job page')).toBeTruthy())
  expect(posted).toEqual([{ type: 'preheat', args: { type: 'file', url: 'https://files.example/a.tar', scope: 'all_seed_peers', ips: ['10.0.0.1', 'node-b'], count: 1 }, scheduler_cluster_ids: [2] }])
})

it('new distribution: hosts a line each, a bandwidth limit and a start time', async () => {
  const posted = stubManager()
  renderAt('/jobs/distributions/new', <NewDistributionPage />)
  for (const label of ['Type', 'URL', 'Hosts', 'Bandwidth limit', 'Start at', 'Output path', 'Platform', 'Username', 'Password']) {
    expect(screen.getByLabelText(label), label).toBeTruthy()
  }
  await waitFor(() => expect(screen.getByLabelText('cluster-1')).toBeTruthy())
  type('URL', 'https://files.example/a.tar')
  type('Bandwidth limit', 'fast')
  fireEvent.click(screen.getByRole('button', { name: 'Start distribution' }))
  expect(screen.getByRole('alert').textContent).toMatch(/^body\.args\.rate_limit: must be bytes per second/)

  type('Bandwidth limit', '50MiB')
  type('Hosts', 'node-a\n10.0.0.2')
  type('Start at', '2026-12-24T18:00')
  fireEvent.click(screen.getByRole('button', { name: 'Start distribution' }))
  await waitFor(() => expect(screen.getByText('job page')).toBeTruthy())
  expect(posted).toEqual([{
    type: 'distribution',
    args: { type: 'file', url: 'https://files.example/a.tar', hosts: ['node-a', '10.0.0.2'], rate_limit: '50MiB' },
    scheduled_at: new Date(2026, 11, 24, 18, 0).toISOString(),
  }])
})
