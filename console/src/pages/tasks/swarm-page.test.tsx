import { cleanup, render, screen, within } from '@testing-library/react'
import { MemoryRouter, Route, Routes } from 'react-router'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { SessionProvider } from '../../auth/session'
import { fakeManager } from './fake-manager'
import { peerOf, swarmOf } from './swarm-fixtures'
import { SwarmPage } from './swarm-page'

afterEach(() => {
  cleanup()
  vi.unstubAllGlobals()
})

const TASK_ID = 'a'.repeat(64)

function renderPage(path: string): HTMLElement {
  return render(
    <MemoryRouter initialEntries={[path]}>
      <SessionProvider>
        <Routes><Route path="/tasks/:taskId/swarm" element={<SwarmPage />} /></Routes>
      </SessionProvider>
    </MemoryRouter>,
  ).container
}

describe('SwarmPage', () => {
  it('shows the snapshot: tiles, graph and the peers table, asking the cluster the address names', async () => {
    const swarm = swarmOf(3, 2, 1, 256)
    const snapshot = { ...swarm, peers: [...swarm.peers.slice(0, 2), peerOf('p-bts', { finished_pieces: 12, state: 'back-to-source', back_to_source_reason: 'no_parent', bytes_from_origin: 5 })], totals: { bytes_from_peers: 3072, bytes_from_origin: 1024, bytes_from_seed_peers: 2048 } }
    const seen = fakeManager((request) => (request.path === `/api/v1/tasks/${TASK_ID}/swarm` ? { body: snapshot } : undefined))
    const container = renderPage(`/tasks/${TASK_ID}/swarm?cluster_id=3`)

    const peers = await screen.findByRole('region', { name: 'Peers' })
    const row = within(peers).getByText('p-bts.test').closest('tr')
    expect(row?.textContent).toContain('12/256')
    expect(row?.textContent).toContain('no_parent')
    const tile = (label: string): string | undefined => [...container.querySelectorAll('.stat')].find((stat) => stat.querySelector('.label')?.textContent === label)?.querySelector('.value')?.textContent ?? undefined
    expect([tile('From peers'), tile('From origin'), tile('Seed share'), tile('P2P share')]).toEqual(['3.00 KiB', '1.00 KiB', '50.0%', '75.0%'])
    expect(container.querySelectorAll('svg[aria-label="Swarm graph"] [data-peer-id]')).toHaveLength(3)
    expect(container.querySelectorAll('[data-edge]')).toHaveLength(1)
    expect(seen.find((request) => request.path.endsWith('/swarm'))?.query.get('cluster_id')).toBe('3')
  })

  it('polls once a second, keeps every node where it was as peers join, and keeps the last snapshot when a poll fails', async () => {
    let polls = 0
    const swarm = swarmOf(5, 4)
    const grown = { ...swarm, peers: [peerOf('p-join'), ...swarm.peers], edges: [...swarm.edges, { parent: 'p0000', child: 'p-join', bytes: 10, pieces: 1, active: true }] }
    fakeManager((request) => {
      if (!request.path.endsWith('/swarm')) return undefined
      polls++
      if (polls === 1) return { body: swarm }
      if (polls === 2) return { body: grown }
      return { status: 503, body: { code: 'SCHEDULER_UNAVAILABLE', message: 'no scheduler answered' } }
    })
    const container = renderPage(`/tasks/${TASK_ID}/swarm`)
    await screen.findByRole('region', { name: 'Peers' })
    const where = (): string[] => swarm.peers.map((peer) => container.querySelector(`[data-peer-id="${peer.id}"]`)?.getAttribute('transform') ?? '')
    const before = where()
    await screen.findAllByText('p-join.test', undefined, { timeout: 3000 })
    expect(where()).toEqual(before)
    expect(container.querySelectorAll('[data-edge]')).toHaveLength(5)
    const notice = await screen.findByText(/Refresh failed \(no scheduler answered\)/, undefined, { timeout: 3000 })
    expect(notice.textContent).toMatch(/showing the snapshot of/)
    expect(container.querySelectorAll('[data-peer-id]')).toHaveLength(6)
    expect(where()).toEqual(before)
  })

  it('says plainly when no scheduler holds the task', async () => {
    fakeManager((request) => (request.path.endsWith('/swarm') ? { status: 404, body: { code: 'NOT_FOUND', message: 'no scheduler holds task aaaa' } } : undefined))
    renderPage(`/tasks/${TASK_ID}/swarm`)
    expect((await screen.findByRole('alert')).textContent).toBe('no scheduler holds task aaaa')
  })
})
