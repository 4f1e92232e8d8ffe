import { useState } from 'react'
import { api } from '../../api/client'
import type { User } from '../../api/types'
import { useResource } from '../../api/use-resource'
import { ErrorLine } from '../../components/error-line'
import { ChoiceBoxes, toggled } from './choice-boxes'

/**
 * A user's roles as checkboxes: ticking gives the role at once, unticking takes it (the API
 * refuses to take root from the last root). A box shows its new state while the API is asked,
 * then what the API holds.
 */
export function UserRolesEditor({ user, roleChoices, onChanged }: { readonly user: User; readonly roleChoices: readonly string[]; readonly onChanged: () => void }) {
  const loaded = useResource((signal) => api.get('/api/v1/users/{id}/roles', { path: { id: String(user.id) }, signal }), String(user.id))
  const [latest, setLatest] = useState<string[] | undefined>(undefined)
  const [pending, setPending] = useState<{ role: string; on: boolean } | undefined>(undefined)
  const [error, setError] = useState<string | undefined>(undefined)
  const held = latest ?? loaded.data

  async function toggle(role: string, on: boolean) {
    setPending({ role, on })
    setError(undefined)
    try {
      const parts = { path: { id: String(user.id), role } }
      if (on) await api.put('/api/v1/users/{id}/roles/{role}', parts)
      else await api.delete('/api/v1/users/{id}/roles/{role}', parts)
      onChanged()
    } catch (failure) {
      setError(failure instanceof Error ? failure.message : String(failure))
    }
    try {
      setLatest(await api.get('/api/v1/users/{id}/roles', { path: { id: String(user.id) } }))
    } catch (failure) {
      setError(failure instanceof Error ? failure.message : String(failure))
    } finally {
      setPending(undefined)
    }
  }

  const shown = held === undefined || pending === undefined ? held : toggled(held, pending.role, pending.on, roleChoices)
  return (
    <div>
      <ErrorLine message={loaded.error} />
      {shown === undefined ? <p>loading…</p> : <ChoiceBoxes legend={`Roles of ${user.name}`} choices={roleChoices} checked={shown} disabled={pending !== undefined} onToggle={(role, on) => void toggle(role, on)} />}
      <ErrorLine message={error} />
    </div>
  )
}
