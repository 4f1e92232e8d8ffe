import { useState, type SyntheticEvent } from 'react'
import { Navigate, useLocation, useNavigate } from 'react-router'
import { useSession } from '../../auth/session'
import { ErrorLine } from '../../components/error-line'
import { Field } from '../../components/field'

export function SignInPage() {
  const session = useSession()
  const navigate = useNavigate()
  const location = useLocation()
  const [name, setName] = useState('')
  const [password, setPassword] = useState('')
  const [error, setError] = useState<string | undefined>(undefined)
  const [busy, setBusy] = useState(false)
  const next = (location.state as { from?: string } | null)?.from ?? '/clusters'
  if (session.me !== undefined) return <Navigate to={next} replace />

  async function submit(event: SyntheticEvent) {
    event.preventDefault()
    setBusy(true)
    try {
      await session.signIn(name, password)
      void navigate(next, { replace: true })
    } catch (failure) {
      setError(failure instanceof Error ? failure.message : String(failure))
    } finally {
      setBusy(false)
    }
  }

  return (
    <main className="signin" id="main">
      <form onSubmit={(event) => void submit(event)} className="card" aria-labelledby="signin-title">
        <h1 id="signin-title">Damselfly</h1>
        <p>Sign in to the manager.</p>
        <Field label="Name" name="name" autoComplete="username" required value={name} onChange={(event) => setName(event.target.value)} autoFocus />
        <Field label="Password" name="password" type="password" autoComplete="current-password" required value={password} onChange={(event) => setPassword(event.target.value)} />
        <ErrorLine message={error} />
        <button type="submit" className="primary" disabled={busy}>Sign in</button>
      </form>
    </main>
  )
}
