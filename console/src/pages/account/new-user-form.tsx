import { useId, useState, type SyntheticEvent } from 'react'
import { newUserBody } from '@manager-api/user-schemas'
import { api } from '../../api/client'
import type { User } from '../../api/types'
import { problemWith } from '../../api/validate'
import { ErrorLine } from '../../components/error-line'
import { Field } from '../../components/field'
import { ChoiceBoxes, toggled } from './choice-boxes'

/** What `POST /api/v1/users` is sent for the form's fields; an empty email is left out (the API's "none"). */
export function newUserRequest(fields: { name: string; password: string; email: string; roles: readonly string[]; mustChangePassword: boolean }) {
  return {
    name: fields.name,
    password: fields.password,
    ...(fields.email === '' ? {} : { email: fields.email }),
    roles: [...fields.roles],
    must_change_password: fields.mustChangePassword,
  }
}

/**
 * Creates a user with the roles ticked (guest first). The password is the form's own state only:
 * it is sent once and forgotten with the form.
 */
export function NewUserForm({ roleChoices, onCreated }: { readonly roleChoices: readonly string[]; readonly onCreated: (user: User) => void }) {
  const [name, setName] = useState('')
  const [password, setPassword] = useState('')
  const [email, setEmail] = useState('')
  const [roles, setRoles] = useState<string[]>(['guest'])
  const [mustChangePassword, setMustChangePassword] = useState(true)
  const [error, setError] = useState<string | undefined>(undefined)
  const [busy, setBusy] = useState(false)
  const id = useId()

  async function submit(event: SyntheticEvent) {
    event.preventDefault()
    const body = newUserRequest({ name, password, email, roles, mustChangePassword })
    const problem = problemWith(newUserBody, body)
    setError(problem)
    if (problem !== undefined) return
    setBusy(true)
    try {
      const user = await api.post('/api/v1/users', { body })
      onCreated(user)
    } catch (failure) {
      setError(failure instanceof Error ? failure.message : String(failure))
    } finally {
      setBusy(false)
    }
  }

  return (
    <form className="card form" onSubmit={(event) => void submit(event)} aria-labelledby="new-user-title" noValidate>
      <h2 id="new-user-title">New user</h2>
      <div className="field-row">
        <Field label="Name" autoComplete="off" value={name} onChange={(event) => setName(event.target.value)} hint="letters, digits, and . _ @ - after the first" autoFocus />
        <Field label="Email" type="email" autoComplete="off" value={email} onChange={(event) => setEmail(event.target.value)} hint="optional" />
      </div>
      <Field label="Password" type="password" autoComplete="new-password" value={password} onChange={(event) => setPassword(event.target.value)} hint="at least 8 characters" />
      <ChoiceBoxes legend="Roles" choices={roleChoices} checked={roles} onToggle={(role, on) => setRoles(toggled(roles, role, on, roleChoices))} />
      <div className="choice">
        <input id={`${id}-must-change`} type="checkbox" checked={mustChangePassword} onChange={(event) => setMustChangePassword(event.target.checked)} />
        <label htmlFor={`${id}-must-change`}>Ask for a new one at first sign-in</label>
      </div>
      <ErrorLine message={error} />
      <button type="submit" className="primary" disabled={busy}>Create user</button>
    </form>
  )
}
