import { useState, type SyntheticEvent } from 'react'
import { z } from 'zod'
import { newPassword } from '@manager-api/input-schemas'
import { useNavigate } from 'react-router'
import { api } from '../../api/client'
import { problemWith } from '../../api/validate'
import { useSession } from '../../auth/session'
import { ErrorLine } from '../../components/error-line'
import { Field } from '../../components/field'
import { PageHeader } from '../../components/layout'

const body = z.object({ old_password: z.string().max(1024), new_password: newPassword })

/** Changes one's own password; the page every user with `must_change_password` is sent to first. */
export function ChangePasswordPage() {
  const session = useSession()
  const navigate = useNavigate()
  const [oldPassword, setOldPassword] = useState('')
  const [password, setPassword] = useState('')
  const [again, setAgain] = useState('')
  const [error, setError] = useState<string | undefined>(undefined)
  const [done, setDone] = useState(false)
  const me = session.me
  if (me === undefined) return null

  async function submit(event: SyntheticEvent) {
    event.preventDefault()
    if (me === undefined) return
    const value = { old_password: oldPassword, new_password: password }
    const problem = problemWith(body, value) ?? (password === again ? undefined : 'the two new passwords differ')
    setError(problem)
    if (problem !== undefined) return
    try {
      await api.post('/api/v1/users/{id}/reset_password', { path: { id: String(me.id) }, body: value })
      await session.refresh()
      setDone(true)
      void navigate('/profile')
    } catch (failure) {
      setError(failure instanceof Error ? failure.message : String(failure))
    }
  }

  return (
    <>
      <PageHeader title="Change password" />
      {me.must_change_password ? <p className="notice">This password was set for you: choose your own before going on.</p> : null}
      <form onSubmit={(event) => void submit(event)} className="card form">
        <Field label="Current password" type="password" autoComplete="current-password" value={oldPassword} onChange={(event) => setOldPassword(event.target.value)} required />
        <Field label="New password" type="password" autoComplete="new-password" value={password} onChange={(event) => setPassword(event.target.value)} hint="at least 8 characters" required />
        <Field label="New password again" type="password" autoComplete="new-password" value={again} onChange={(event) => setAgain(event.target.value)} required />
        <ErrorLine message={error} />
        {done ? <p role="status">Password changed.</p> : null}
        <button type="submit" className="primary">Change password</button>
      </form>
    </>
  )
}
