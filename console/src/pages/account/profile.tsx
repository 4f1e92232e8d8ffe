import { useState, type SyntheticEvent } from 'react'
import { Link } from 'react-router'
import { userPatchBody } from '@manager-api/user-schemas'
import { api } from '../../api/client'
import type { Me } from '../../api/types'
import { problemWith } from '../../api/validate'
import { useSession } from '../../auth/session'
import { ErrorLine } from '../../components/error-line'
import { Field } from '../../components/field'
import { formatTime } from '../../components/format'
import { PageHeader } from '../../components/layout'
import { StateBadge } from '../../components/state-badge'

/** The signed-in user: who they are, their roles, their email (which they may change) and a way to their password. */
export function ProfilePage() {
  const me = useSession().me
  if (me === undefined) return null
  return (
    <>
      <PageHeader title="Profile">
        <Link to="/change-password">Change password</Link>
      </PageHeader>
      <dl className="card facts">
        <dt>Name</dt><dd>{me.name}</dd>
        <dt>Email</dt><dd>{me.email === '' ? 'none' : me.email}</dd>
        <dt>State</dt><dd><StateBadge state={me.state} /></dd>
        <dt>Roles</dt><dd>{me.roles.length === 0 ? 'none' : me.roles.join(', ')}</dd>
        <dt>Last sign-in</dt><dd>{me.last_signin_at === null ? 'never' : formatTime(me.last_signin_at)}</dd>
      </dl>
      <EmailForm key={me.id} me={me} />
    </>
  )
}

/** One's own email; the API's rule decides what an address is, not the browser's. */
function EmailForm({ me }: { readonly me: Me }) {
  const session = useSession()
  const [email, setEmail] = useState(me.email)
  const [error, setError] = useState<string | undefined>(undefined)
  const [saved, setSaved] = useState(false)
  const [busy, setBusy] = useState(false)

  async function save(event: SyntheticEvent) {
    event.preventDefault()
    setSaved(false)
    const body = { email }
    const problem = problemWith(userPatchBody, body)
    setError(problem)
    if (problem !== undefined) return
    setBusy(true)
    try {
      await api.patch('/api/v1/users/{id}', { path: { id: String(me.id) }, body })
      await session.refresh()
      setSaved(true)
    } catch (failure) {
      setError(failure instanceof Error ? failure.message : String(failure))
    } finally {
      setBusy(false)
    }
  }

  return (
    <form className="card form" onSubmit={(event) => void save(event)} aria-labelledby="profile-email" noValidate>
      <h2 id="profile-email">Contact address</h2>
      <Field label="Email" type="email" autoComplete="email" value={email} onChange={(event) => { setEmail(event.target.value); setSaved(false) }} />
      <ErrorLine message={error} />
      {saved ? <p role="status">Email saved.</p> : null}
      <button type="submit" className="primary" disabled={busy}>Save email</button>
    </form>
  )
}
