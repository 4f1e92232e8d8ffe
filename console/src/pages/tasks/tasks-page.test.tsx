import { cleanup, fireEvent, render, screen, within } from '@testing-library/react'
import { MemoryRouter, Route, Routes } from 'react-router'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { SessionProvider } from '../../auth/session'
import { fakeManager } from './fake-manager'
import { TasksPage } from './tasks-page'

afterEach(() => {
  cleanup()
  vi.unstubAllGlobals()
})

const TASK_ID = 'cd'.repeat(32)
const holder = { id: `h1-${TASK_ID}`, host_id: 'h1', hostname: 'seed-0', ip: '10.0.0.1', host_type: 'super', state: 'Succeeded', content_length: 8, finished_pieces: 4, total_pieces: 4, created_at: '2026-12-01T07:00:00.000Z', updated_at: '2026-12-01T07:00:00.000Z' }

function renderPage(): void {
  render(
    <MemoryRouter initialEntries={['/tasks']}>
      <SessionProvider>
        <Routes><Route path="/tasks" element={<TasksPage />} /></Routes>
      </SessionProvider>
    </MemoryRouter>,
  )
}

describe('TasksPage', () => {
  it('refuses a malformed task ID in the API\'s words without creating a job', async () => {
    const seen = fakeManager(() => undefined)
    renderPage()
    fireEvent.change(await screen.findByLabelText('Task ID'), { target: { value: 'not-hex' } })
    fireEvent.click(screen.getByRole('button', { name: 'Search' }))
    expect((await screen.findByRole('alert')).textContent).toBe('body.args.task_id: must be 64 lowercase hex digits')
    expect(seen.filter((request) => request.method === 'POST')).toHaveLength(0)
  })

  it('searches every cluster with a get_task job, shows the holders, then deletes everywhere after a confirmation', async () => {
    const seen = fakeManager((request) => {
      if (request.path === '/api/v1/clusters') return { body: [{ id: 1 }, { id: 4 }], headers: { 'total-count': '2' } }
      if (request.method === 'POST' && request.path === '/api/v1/jobs') {
        const type = (request.body as { type: string }).type
        return { status: 201, body: { id: type === 'get_task' ? 7 : 8, type, state: 'PENDING', error: '', result: null } }
      }
      if (request.path === '/api/v1/jobs/7') {
        return { body: { id: 7, type: 'get_task', state: 'SUCCESS', error: '', result: { tasks: [{ task_id: TASK_ID, results: [{ scheduler_cluster_id: 1, peers: [holder], unanswered_hosts: [] }] }] } } }
      }
      if (request.path === '/api/v1/jobs/8') {
        return { body: { id: 8, type: 'delete_task', state: 'SUCCESS', error: '', result: { tasks: [{ task_id: TASK_ID, results: [{ scheduler_cluster_id: 1, success_tasks: [{ hostname: 'seed-0', ip: '10.0.0.1', host_type: 'super' }], failure_tasks: [] }] }] } } }
      }
      return undefined
    })
    renderPage()
    fireEvent.change(await screen.findByLabelText('Search by'), { target: { value: 'url' } })
    fireEvent.change(screen.getByLabelText('URL'), { target: { value: 'https://files.test/a' } })
    fireEvent.change(screen.getByLabelText('Tag'), { target: { value: 'v1' } })
    fireEvent.click(screen.getByRole('button', { name: 'Search' }))

    const table = await screen.findByRole('region', { name: 'Hosts holding the task' })
    expect(within(table).getByText('seed-0')).toBeTruthy()
    expect(within(table).getByText('4/4')).toBeTruthy()
    expect(screen.getByRole('link', { name: 'Swarm' }).getAttribute('href')).toBe(`/tasks/${TASK_ID}/swarm`)
    const created = seen.find((request) => request.method === 'POST')
    expect(created?.body).toEqual({ type: 'get_task', args: { url: 'https://files.test/a', tag: 'v1' }, scheduler_cluster_ids: [1, 4] })

    fireEvent.click(screen.getByRole('button', { name: 'Delete everywhere' }))
    expect(seen.filter((request) => request.method === 'POST')).toHaveLength(1)
    fireEvent.click(screen.getByRole('button', { name: 'Confirm delete' }))
    const outcome = await screen.findByRole('region', { name: 'Delete outcome' })
    expect(await within(outcome).findByText('deleted')).toBeTruthy()
    expect(seen.filter((request) => request.method === 'POST').map((request) => request.body)).toEqual([
      created?.body,
      { type: 'delete_task', args: { url: 'https://files.test/a', tag: 'v1' }, scheduler_cluster_ids: [1, 4] },
    ])
  })

  it('shows the API\'s refusal in one line and offers no delete to a reader', async () => {
    fakeManager((request) => (request.method === 'POST' ? { status: 403, body: { code: 'PERMISSION_DENIED', message: 'job write is needed' } } : undefined), [{ object: 'job', action: 'read' }])
    renderPage()
    fireEvent.change(await screen.findByLabelText('Task ID'), { target: { value: TASK_ID } })
    fireEvent.click(screen.getByRole('button', { name: 'Search' }))
    expect((await screen.findByRole('alert')).textContent).toBe('job write is needed')
    expect(screen.queryByRole('button', { name: 'Delete everywhere' })).toBeNull()
  })
})
