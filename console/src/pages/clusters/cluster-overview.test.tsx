import { cleanup, render, screen, within } from '@testing-library/react'
import { MemoryRouter, Route, Routes } from 'react-router'
import { afterEach, expect, it, vi } from 'vitest'
import type { ClusterOverview } from '../../api/types'
import { someOverview } from './cluster-fixtures'
import { ClusterOverviewTab } from './cluster-overview'
import { fakeApi } from './fake-api'

afterEach(() => {
  cleanup()
  vi.unstubAllGlobals()
})

function page(overview: ClusterOverview) {
  const seen = fakeApi((request) => request.path === '/api/v1/clusters/2/overview' ? { json: overview } : undefined)
  render(<MemoryRouter initialEntries={['/clusters/2']}><Routes><Route path="/clusters/:id" element={<ClusterOverviewTab />} /></Routes></MemoryRouter>)
  return seen
}

function tile(label: string): HTMLElement {
  const found = screen.getAllByText(label, { selector: '.stat .label' })[0]?.closest<HTMLElement>('.stat')
  if (found === null || found === undefined) throw new Error(`no stat tile ${label}`)
  return found
}

it('shows the P2P share of the hour first, with bytes from peers and from origin', async () => {
  page(someOverview([[3 * 1024 * 1024, 1024 * 1024], [0, 0]]))
  await screen.findByText('P2P share')
  expect(within(tile('P2P share')).getByText('75.0%', { selector: '.value' })).toBeTruthy()
  expect(document.querySelector('.stats')?.firstElementChild?.classList.contains('p2p-share')).toBe(true)
  expect(within(tile('From peers')).getByText('3.00 MiB')).toBeTruthy()
  expect(within(tile('From origin')).getByText('1.00 MiB')).toBeTruthy()
  expect(within(tile('Back to source')).getByText('3')).toBeTruthy()
  expect(screen.getByText('2 of 2 schedulers answered.')).toBeTruthy()
})

it('draws the hour as stacked bars and lists the back-to-source reasons', async () => {
  page(someOverview([[100, 50], [0, 0], [10, 0]]))
  const chart = await screen.findByRole('img', { name: 'Bytes per minute, last hour' })
  expect(chart.querySelectorAll('rect.series-peer')).toHaveLength(3)
  expect(chart.querySelectorAll('rect.series-origin')).toHaveLength(3)
  const reasons = screen.getByRole('region', { name: 'Back-to-source reasons' })
  expect(within(reasons).getByText('seed_peer')).toBeTruthy()
  expect(within(reasons).getByText('no_parent')).toBeTruthy()
})

it('says when no byte moved rather than showing 0% P2P, and when schedulers did not answer', async () => {
  page(someOverview([[0, 0]], { schedulers: { asked: 3, answered: 1 } }))
  await screen.findByText('P2P share')
  expect(within(tile('P2P share')).getByText('—')).toBeTruthy()
  expect(screen.getByText(/1 of 3 schedulers answered/).textContent).toMatch(/leave out the others/)
})
