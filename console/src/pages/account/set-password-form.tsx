import { useState, type SyntheticEvent } from 'react'
import { resetPasswordBody } from '@manager-api/user-schemas'
import { api } from '../../api/client'
import type { User } from '../../api/types'
import { problemWith } from '../../api/validate'
import { ErrorLine } from '../../components/error-line'
import { Field } from '../../components/field'

/** Sets another user's password; the API makes them choose their own at their next sign-in and ends their sessions. */
export function SetPasswordForm({ user }: { readonly user: User }) {
  const [password, setPassword] = useState('')
  const [error, setError] = useState<string | undefined>(undefined)
  const [done, setDone] = useState(false)
  const [busy, setBusy] = useState(false)

  async function submit(event: SyntheticEvent) {
    event.preventDefault()
    setDone(false)
    const body = { new_password: password }
    const problem = problemWith(resetPasswordBody, body)
    setError(problem)
    if (problem !== undefined) return
    setBusy(true)
    try {
      await api.post('/api/v1/users/{id}/reset_password', { path: { id: String(user.id) }, body })
      setPassword('')
      setDone(true)
    } catch (failure) {
      setError(failure instanceof Error ? failure.message : String(failure))
    } finally {
      setBusy(false)
    }
  }

  return (
    <form onSubmit={(event) => void submit(event)} noValidate>
      <Field label={`New password for ${user.name}`} type="password" autoComplete="new-password" value={password} onChange={(event) => { setPassword(event.target.value); setDone(false) }} hint="at least 8 characters; they must change it at their next sign-in" />
      <ErrorLine message={error} />
      {done ? <p role="status">Password set: {user.name} must change it at their next sign-in.</p> : null}
      <button type="submit" className="primary" disabled={busy}>Set password</button>
    </form>
  )
}
