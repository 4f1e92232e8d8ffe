import { cleanup, fireEvent, render, screen } from '@testing-library/react'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { fakeManager } from './fake-manager'
import { NewUserForm, newUserRequest } from './new-user-form'

afterEach(() => {
  cleanup()
  vi.unstubAllGlobals()
})

function fill(label: string, value: string): void {
  fireEvent.change(screen.getByLabelText(label), { target: { value } })
}

describe('NewUserForm', () => {
  it('refuses a short password with the API\'s message, without asking the API', () => {
    const seen = fakeManager(() => undefined)
    render(<NewUserForm roleChoices={['guest', 'root']} onCreated={() => undefined} />)
    fill('Name', 'bob')
    fill('Password', 'short')
    fireEvent.click(screen.getByRole('button', { name: 'Create user' }))
    expect(screen.getByRole('alert').textContent).toBe('body.password: must be at least 8 characters')
    expect(seen).toHaveLength(0)
  }, 5_000)

  it('refuses a name the API refuses', () => {
    fakeManager(() => undefined)
    render(<NewUserForm roleChoices={['guest']} onCreated={() => undefined} />)
    fill('Name', '-bob')
    fill('Password', 'long enough')
    fireEvent.click(screen.getByRole('button', { name: 'Create user' }))
    expect(screen.getByRole('alert').textContent).toBe('body.name: letters, digits, and . _ @ - after the first')
  }, 5_000)

  it('creates the user with the roles ticked and shows the API\'s refusal in one line', async () => {
    const seen = fakeManager((method, path) => method === 'POST' && path === '/api/v1/users' ? { status: 409, json: { code: 'ALREADY_EXISTS', message: 'user bob exists' } } : undefined)
    const onCreated = vi.fn()
    render(<NewUserForm roleChoices={['guest', 'root']} onCreated={onCreated} />)
    fill('Name', 'bob')
    fill('Password', 'long enough')
    fill('Email', 'bob@example.com')
    fireEvent.click(screen.getByLabelText('root'))
    fireEvent.click(screen.getByLabelText('guest'))
    fireEvent.click(screen.getByRole('button', { name: 'Create user' }))
    expect((await screen.findByRole('alert')).textContent).toBe('user bob exists')
    expect(seen).toEqual([{ method: 'POST', url: '/api/v1/users', body: { name: 'bob', password: 'long enough', email: 'bob@example.com', roles: ['root'], must_change_password: true } }])
    expect(onCreated).not.toHaveBeenCalled()
  }, 5_000)
})

describe('newUserRequest', () => {
  it('leaves an empty email out, so the API keeps none', () => {
    expect(newUserRequest({ name: 'bob', password: 'p', email: '', roles: ['guest'], mustChangePassword: false })).toEqual({ name: 'bob', password: 'p', roles: ['guest'], must_change_password: false })
  }, 5_000)
})
