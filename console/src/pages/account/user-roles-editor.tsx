import { useState } from 'react'
import { api } from '../../api/client'
import type { User } from '../../api/types'
import { useResource } from '../../api/use-resource'
import { ErrorLine } from '../../components/error-line'
import { ChoiceBoxes } from './choice-boxes'

/** A user's roles as checkboxes: ticking gives the role at once, unticking takes it (the API refuses to take root from the last root). */
export function UserRolesEditor({ user, roleChoices, onChanged }: { readonly user: User; readonly roleChoices: readonly string[]; readonly onChanged: () => void }) {
  const held = useResource((signal) => api.get('/api/v1/users/{id}/roles', { path: { id: String(user.id) }, signal }), String(user.id))
  const [error, setError] = useState<string | undefined>(undefined)
  const [busy, setBusy] = useState(false)

  async function toggle(role: string, on: boolean) {
    setBusy(true)
    setError(undefined)
    try {
      const parts = { path: { id: String(user.id), role } }
      if (on) await api.put('/api/v1/users/{id}/roles/{role}', parts)
      else await api.delete('/api/v1/users/{id}/roles/{role}', parts)
      onChanged()
    } catch (failure) {
      setError(failure instanceof Error ? failure.message : String(failure))
    } finally {
      held.reload()
      setBusy(false)
    }
  }

  return (
    <div>
      <ErrorLine message={held.error} />
      {held.data === undefined ? <p>loading…</p> : <ChoiceBoxes legend={`Roles of ${user.name}`} choices={roleChoices} checked={held.data} disabled={busy} onToggle={(role, on) => void toggle(role, on)} />}
      <ErrorLine message={error} />
    </div>
  )
}
