import { act, cleanup, render, screen, waitFor, within } from '@testing-library/react'
import { afterEach, expect, it, vi } from 'vitest'
import { MemoryRouter, Route, Routes } from 'react-router'
import { SessionProvider } from '../../auth/session'
import { DistributionPage } from './distribution'
import { distributionJob, hostRow, stubApi } from './job-fixtures'
import type { EventSourceLike } from './use-live-job'

afterEach(() => {
  cleanup()
  vi.unstubAllGlobals()
})

/** An EventSource the test drives: it sends events and fails at will. */
class FakeEvents implements EventSourceLike {
  readonly listeners = new Map<string, (event: MessageEvent<string>) => void>()
  onerror: ((event: Event) => void) | null = null
  closed = false
  constructor(readonly url: string) {}
  addEventListener(type: 'host' | 'job', listener: (event: MessageEvent<string>) => void): void {
    this.listeners.set(type, listener)
  }
  close(): void {
    this.closed = true
  }
  send(type: 'host' | 'job', data: unknown): void {
    act(() => this.listeners.get(type)?.(new MessageEvent(type, { data: JSON.stringify(data) })))
  }
  fail(): void {
    act(() => this.onerror?.(new Event('error')))
  }
}

function renderPage(sources: FakeEvents[]) {
  const open = (url: string): FakeEvents => {
    const source = new FakeEvents(url)
    sources.push(source)
    return source
  }
  return render(
    <MemoryRouter initialEntries={['/jobs/distributions/7']}>
      <SessionProvider>
        <Routes><Route path="/jobs/distributions/:id" element={<DistributionPage openEvents={open} />} /></Routes>
      </SessionProvider>
    </MemoryRouter>,
  )
}

function progressCells(): string[] {
  const table = screen.getByRole('region', { name: 'Hosts' })
  return within(table).queryAllByRole('row').slice(1).map((row) => within(row).getAllByRole('cell')[2]?.textContent ?? '')
}

it('fills the host table from the event stream and closes it once the job ended', async () => {
  stubApi(() => ({ body: [] }))
  const sources: FakeEvents[] = []
  renderPage(sources)
  const [source] = sources
  expect(source?.url).toBe('/api/v1/jobs/7/events')
  source?.send('job', distributionJob())
  source?.send('host', hostRow({ host_id: 'h1', hostname: 'a', completed_bytes: 42, content_length: 100, bytes_per_second: 2048 }))
  source?.send('host', hostRow({ host_id: 'h2', hostname: 'b' }))
  expect(screen.getByTestId('job-state').textContent).toBe('PENDING')
  expect(progressCells()).toEqual(['42%', '0%'])
  expect(screen.getByText('2.00 KiB/s')).toBeTruthy()

  source?.send('host', hostRow({ host_id: 'h1', hostname: 'a', state: 'SUCCESS', completed_bytes: 100, content_length: 100, updated_at: '2026-12-01T07:00:05.000Z' }))
  source?.send('host', hostRow({ host_id: 'h2', hostname: 'b', state: 'FAILURE', code: 'DAEMON_UNAVAILABLE', updated_at: '2026-12-01T07:00:05.000Z' }))
  source?.send('job', distributionJob({ state: 'FAILURE', phase: 'done', error: '1 of 2 host downloads failed' }))
  expect(progressCells()).toEqual(['100%', '0%'])
  expect(screen.getByTestId('job-state').textContent).toBe('FAILURE')
  expect(source?.closed).toBe(true)
  await waitFor(() => expect(screen.getByRole<HTMLButtonElement>('button', { name: 'Rerun failed hosts' }).disabled).toBe(false))
  expect(screen.getByRole<HTMLButtonElement>('button', { name: 'Stop' }).disabled).toBe(true)
})

it('polls the job and its hosts once a second after the stream failed', async () => {
  const calls = stubApi((url) => url.startsWith('/api/v1/jobs/7/hosts')
    ? { body: [hostRow({ host_id: 'h1', completed_bytes: 30, content_length: 100 })], total: 1 }
    : { body: distributionJob() })
  const sources: FakeEvents[] = []
  renderPage(sources)
  sources[0]?.fail()
  expect(sources[0]?.closed).toBe(true)
  await waitFor(() => expect(progressCells()).toEqual(['30%']), { timeout: 4000 })
  expect(screen.getByTestId('job-state').textContent).toBe('PENDING')
  expect(screen.getByRole('status').textContent).toMatch(/once a second/)
  const jobCalls = calls.filter((url) => url.startsWith('/api/v1/jobs/'))
  expect(jobCalls[0]).toBe('/api/v1/jobs/7')
  expect(jobCalls[1]).toBe('/api/v1/jobs/7/hosts?per_page=1000')
  expect(sources).toHaveLength(1)
})
