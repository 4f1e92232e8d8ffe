import { cleanup, fireEvent, render, screen } from '@testing-library/react'
import { afterEach, expect, it, vi } from 'vitest'
import { AuditPage } from './audit'
import { fakeManager } from './fake-manager'

afterEach(() => {
  cleanup()
  vi.unstubAllGlobals()
})

const ROW = { id: 9, actor_type: 'user', actor_name: 'alice', method: 'DELETE', path: '/api/v1/clusters/1', object: 'cluster', state: 'success', status_code: 204, created_at: '2026-01-01T00:00:00.000Z' }

it('asks for the filters given when the form is sent, from page 1, and says what the API would refuse', async () => {
  const seen = fakeManager((_method, path) => path === '/api/v1/audits' ? { json: [ROW], total: 1 } : undefined)
  render(<AuditPage />)
  expect(await screen.findByText('/api/v1/clusters/1')).toBeTruthy()
  expect(seen.map((request) => request.url)).toEqual(['/api/v1/audits?page=1&per_page=50'])

  fireEvent.change(screen.getByLabelText('Actor'), { target: { value: 'alice' } })
  fireEvent.change(screen.getByLabelText('Method'), { target: { value: 'DELETE' } })
  fireEvent.change(screen.getByLabelText('Since'), { target: { value: '2026-12-01T07:30' } })
  fireEvent.click(screen.getByRole('button', { name: 'Filter' }))
  const since = encodeURIComponent(new Date(2026, 11, 1, 7, 30).toISOString())
  await vi.waitFor(() => expect(seen.at(-1)?.url).toBe(`/api/v1/audits?page=1&per_page=50&actor_name=alice&method=DELETE&since=${since}`))

  fireEvent.change(screen.getByLabelText('Until'), { target: { value: '2026-11-01T00:00' } })
  fireEvent.click(screen.getByRole('button', { name: 'Filter' }))
  expect(screen.getByRole('alert').textContent).toBe('Since must be before Until')
  expect(seen).toHaveLength(2)
}, 5_000)
