import { cleanup, fireEvent, render, screen } from '@testing-library/react'
import { MemoryRouter } from 'react-router'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { SessionProvider } from '../../auth/session'
import { fakeManager, someone } from './fake-manager'
import { newTokenRequest } from './new-token-form'
import { TokensPage } from './tokens'

afterEach(() => {
  cleanup()
  vi.unstubAllGlobals()
})

const SECRET = 'pat_0123456789abcdef'
const TOKEN = { id: 7, name: 'ci', bio: '', scopes: ['job'], state: 'active', expired_at: '2027-01-01T00:00:00.000Z', user_id: 2, last_used_at: null, created_at: '2026-01-01T00:00:00.000Z', updated_at: '2026-01-01T00:00:00.000Z' }

function manager() {
  return fakeManager((method, path) => {
    if (path === '/api/v1/users/me') return { json: someone() }
    if (method === 'GET' && path === '/api/v1/personal-access-tokens') return { json: [TOKEN], total: 1 }
    if (method === 'POST' && path === '/api/v1/personal-access-tokens') return { status: 201, json: { ...TOKEN, token: SECRET } }
    return undefined
  })
}

function page() {
  return render(<MemoryRouter><SessionProvider><TokensPage /></SessionProvider></MemoryRouter>)
}

describe('TokensPage', () => {
  it('shows a new token once, in React state only, and forgets it when the page is left', async () => {
    const seen = manager()
    const first = page()
    fireEvent.click(await screen.findByRole('button', { name: 'New token' }))
    fireEvent.change(screen.getByLabelText('Name'), { target: { value: 'ci' } })
    fireEvent.click(screen.getByLabelText('cluster'))
    fireEvent.click(screen.getByRole('button', { name: 'Create token' }))
    const secret = await screen.findByText(SECRET)
    expect(secret.classList.contains('secret')).toBe(true)
    const created = seen.find((request) => request.method === 'POST')
    expect(created?.body).toMatchObject({ name: 'ci', bio: '', scopes: ['job'] })
    // Only the caller's own tokens are listed, even for a user who may read everyone's.
    expect(seen.some((request) => request.url.startsWith('/api/v1/personal-access-tokens?') && request.url.includes('user_id=2'))).toBe(true)

    first.unmount()
    expect(document.body.textContent).not.toContain(SECRET)
    expect(localStorage.length + sessionStorage.length).toBe(0)
    page()
    await screen.findByText('ci')
    expect(document.querySelector('.secret')).toBeNull()
    expect(document.body.textContent).not.toContain(SECRET)
  }, 5_000)

  it('hides the secret when Done is pressed', async () => {
    manager()
    page()
    fireEvent.click(await screen.findByRole('button', { name: 'New token' }))
    fireEvent.change(screen.getByLabelText('Name'), { target: { value: 'ci' } })
    fireEvent.click(screen.getByRole('button', { name: 'Create token' }))
    await screen.findByText(SECRET)
    fireEvent.click(screen.getByRole('button', { name: 'Done' }))
    expect(document.querySelector('.secret')).toBeNull()
  }, 5_000)

  it('revokes a token by making it inactive', async () => {
    const seen = manager()
    page()
    fireEvent.click(await screen.findByRole('button', { name: 'Revoke' }))
    await vi.waitFor(() => expect(seen.find((request) => request.method === 'PATCH')).toEqual({ method: 'PATCH', url: '/api/v1/personal-access-tokens/7', body: { state: 'inactive' } }))
  }, 5_000)
})

describe('newTokenRequest', () => {
  const now = Date.UTC(2026, 0, 1)

  it('turns days into an RFC 3339 expiry from now', () => {
    expect(newTokenRequest({ name: 'ci', description: 'harbor', expiresInDays: '30', scopes: ['cluster', 'job'] }, now)).toEqual({ body: { name: 'ci', bio: 'harbor', scopes: ['job', 'cluster'], expired_at: '2026-01-31T00:00:00.000Z' } })
  }, 5_000)

  it('refuses what is not a number of days, and what the API refuses in its words', () => {
    expect(newTokenRequest({ name: 'ci', description: '', expiresInDays: '0', scopes: ['job'] }, now)).toEqual({ problem: 'Expires in days: must be a whole number of days from 1 to 36500' })
    expect(newTokenRequest({ name: 'ci', description: '', expiresInDays: '1.5', scopes: ['job'] }, now)).toHaveProperty('problem')
    const noScope = newTokenRequest({ name: 'ci', description: '', expiresInDays: '1', scopes: [] }, now)
    expect('problem' in noScope && noScope.problem).toMatch(/^body\.scopes: /)
    const noName = newTokenRequest({ name: '', description: '', expiresInDays: '1', scopes: ['job'] }, now)
    expect('problem' in noName && noName.problem).toMatch(/^body\.name: /)
  }, 5_000)
})
