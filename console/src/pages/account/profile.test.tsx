import { cleanup, fireEvent, render, screen } from '@testing-library/react'
import { MemoryRouter } from 'react-router'
import { afterEach, expect, it, vi } from 'vitest'
import { SessionProvider } from '../../auth/session'
import { fakeManager, someone } from './fake-manager'
import { ProfilePage } from './profile'

afterEach(() => {
  cleanup()
  vi.unstubAllGlobals()
})

it('shows the user and refuses an email the API would refuse, in its words', async () => {
  const seen = fakeManager((method, path) => path === '/api/v1/users/me' ? { json: someone({ roles: ['guest', 'ops'] }) } : method === 'PATCH' ? { json: someone() } : undefined)
  render(<MemoryRouter><SessionProvider><ProfilePage /></SessionProvider></MemoryRouter>)
  expect(await screen.findByText('guest, ops')).toBeTruthy()
  expect(screen.getByRole('link', { name: 'Change password' }).getAttribute('href')).toBe('/change-password')
  fireEvent.change(screen.getByLabelText('Email'), { target: { value: 'not an address' } })
  fireEvent.click(screen.getByRole('button', { name: 'Save email' }))
  expect(screen.getByRole('alert').textContent).toMatch(/^body\.email: /)
  expect(seen.some((request) => request.method === 'PATCH')).toBe(false)

  fireEvent.change(screen.getByLabelText('Email'), { target: { value: 'a@example.com' } })
  fireEvent.click(screen.getByRole('button', { name: 'Save email' }))
  await vi.waitFor(() => expect(seen.find((request) => request.method === 'PATCH')).toEqual({ method: 'PATCH', url: '/api/v1/users/2', body: { email: 'a@example.com' } }))
}, 5_000)
