import { useState, type SyntheticEvent } from 'react'
import { newTokenBody, tokenScopes } from '@manager-api/personal-access-token-schemas'
import { api } from '../../api/client'
import type { CreatedPersonalAccessToken, TokenScope } from '../../api/types'
import { problemWith } from '../../api/validate'
import { ErrorLine } from '../../components/error-line'
import { Field } from '../../components/field'
import { ChoiceBoxes, toggled } from './choice-boxes'

/** The scopes the API takes, read from its own schema. */
export const TOKEN_SCOPE_CHOICES: readonly TokenScope[] = tokenScopes.element.options

const DAY_MS = 86_400_000

export interface NewTokenFields {
  readonly name: string
  readonly description: string
  readonly expiresInDays: string
  readonly scopes: readonly string[]
}

/**
 * The body of `POST /api/v1/personal-access-tokens` for the form's fields at `nowMs`, or the one
 * line saying what is wrong (the API's own words for its fields).
 */
export function newTokenRequest(fields: NewTokenFields, nowMs: number): { body: { name: string; bio: string; scopes: TokenScope[]; expired_at: string } } | { problem: string } {
  const days = Number(fields.expiresInDays)
  if (!/^[0-9]+$/.test(fields.expiresInDays.trim()) || days < 1 || days > 36_500) return { problem: 'Expires in days: must be a whole number of days from 1 to 36500' }
  const scopes = TOKEN_SCOPE_CHOICES.filter((scope) => fields.scopes.includes(scope))
  const body = { name: fields.name, bio: fields.description, scopes, expired_at: new Date(nowMs + days * DAY_MS).toISOString() }
  const problem = problemWith(newTokenBody, body)
  return problem === undefined ? { body } : { problem }
}

/** Makes a token for the signed-in user; its secret goes to `onCreated` and nowhere else. */
export function NewTokenForm({ onCreated, nowMs = () => Date.now() }: { readonly onCreated: (token: CreatedPersonalAccessToken) => void; readonly nowMs?: () => number }) {
  const [name, setName] = useState('')
  const [description, setDescription] = useState('')
  const [expiresInDays, setExpiresInDays] = useState('30')
  const [scopes, setScopes] = useState<string[]>([...TOKEN_SCOPE_CHOICES])
  const [error, setError] = useState<string | undefined>(undefined)
  const [busy, setBusy] = useState(false)

  async function submit(event: SyntheticEvent) {
    event.preventDefault()
    const request = newTokenRequest({ name, description, expiresInDays, scopes }, nowMs())
    if ('problem' in request) {
      setError(request.problem)
      return
    }
    setError(undefined)
    setBusy(true)
    try {
      onCreated(await api.post('/api/v1/personal-access-tokens', { body: request.body }))
    } catch (failure) {
      setError(failure instanceof Error ? failure.message : String(failure))
    } finally {
      setBusy(false)
    }
  }

  return (
    <form className="card form" onSubmit={(event) => void submit(event)} aria-labelledby="new-token-title" noValidate>
      <h2 id="new-token-title">New token</h2>
      <div className="field-row">
        <Field label="Name" autoComplete="off" value={name} onChange={(event) => setName(event.target.value)} autoFocus />
        <Field label="Expires in days" type="number" inputMode="numeric" min={1} step={1} value={expiresInDays} onChange={(event) => setExpiresInDays(event.target.value)} />
      </div>
      <Field label="Description" autoComplete="off" value={description} onChange={(event) => setDescription(event.target.value)} hint="optional: what uses it" />
      <ChoiceBoxes legend="Scopes" choices={TOKEN_SCOPE_CHOICES} checked={scopes} onToggle={(scope, on) => setScopes(toggled(scopes, scope, on, TOKEN_SCOPE_CHOICES))} />
      <ErrorLine message={error} />
      <button type="submit" className="primary" disabled={busy}>Create token</button>
    </form>
  )
}
