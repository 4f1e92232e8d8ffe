import { cleanup, fireEvent, render, screen } from '@testing-library/react'
import { afterEach, expect, it, vi } from 'vitest'
import { fakeManager, someone } from './fake-manager'
import { UserRolesEditor } from './user-roles-editor'

afterEach(() => {
  cleanup()
  vi.unstubAllGlobals()
})

const ROOT = someone({ id: 1, name: 'root' })

function checkbox(label: string): HTMLInputElement {
  return screen.getByLabelText(label)
}

it('gives a role with PUT and shows what the API then holds', async () => {
  let held = ['guest']
  const seen = fakeManager((method, path) => {
    if (method === 'GET' && path === '/api/v1/users/1/roles') return { json: held }
    if (method === 'PUT' && path === '/api/v1/users/1/roles/root') {
      held = ['guest', 'root']
      return { status: 204 }
    }
    return undefined
  })
  const onChanged = vi.fn()
  render(<UserRolesEditor user={ROOT} roleChoices={['guest', 'root']} onChanged={onChanged} />)
  await screen.findByRole('group', { name: 'Roles of root' })
  expect(checkbox('root').checked).toBe(false)
  fireEvent.click(checkbox('root'))
  // While the API is asked, the box already shows the new state (and cannot be pressed again).
  expect(checkbox('root').checked).toBe(true)
  expect(checkbox('root').disabled).toBe(true)
  await vi.waitFor(() => expect(checkbox('root').disabled).toBe(false))
  expect(checkbox('root').checked).toBe(true)
  expect(onChanged).toHaveBeenCalledTimes(1)
  expect(seen.map((request) => `${request.method} ${request.url}`)).toEqual(['GET /api/v1/users/1/roles', 'PUT /api/v1/users/1/roles/root', 'GET /api/v1/users/1/roles'])
}, 5_000)

it('shows the API\'s refusal and puts the box back as the API holds it', async () => {
  fakeManager((method, path) => {
    if (method === 'GET' && path === '/api/v1/users/1/roles') return { json: ['root'] }
    if (method === 'DELETE') return { status: 403, json: { code: 'PERMISSION_DENIED', message: 'this is the last enabled user with the root role' } }
    return undefined
  })
  const onChanged = vi.fn()
  render(<UserRolesEditor user={ROOT} roleChoices={['guest', 'root']} onChanged={onChanged} />)
  await screen.findByRole('group', { name: 'Roles of root' })
  fireEvent.click(checkbox('root'))
  expect((await screen.findByRole('alert')).textContent).toBe('this is the last enabled user with the root role')
  await vi.waitFor(() => expect(checkbox('root').disabled).toBe(false))
  expect(checkbox('root').checked).toBe(true)
  expect(onChanged).not.toHaveBeenCalled()
}, 5_000)
