import { useState } from 'react'
import { api, type Page } from '../../api/client'
import type { CreatedPersonalAccessToken, PersonalAccessToken } from '../../api/types'
import { useResource } from '../../api/use-resource'
import { useSession } from '../../auth/session'
import { DataTable, type Column } from '../../components/data-table'
import { ErrorLine } from '../../components/error-line'
import { formatTime } from '../../components/format'
import { PageHeader } from '../../components/layout'
import { Pager } from '../../components/pager'
import { StateBadge } from '../../components/state-badge'
import { NewTokenForm } from './new-token-form'
import { TokenSecret } from './token-secret'

const PER_PAGE = 20

/** The signed-in user's personal access tokens: make one (its secret shown once), revoke or delete one. */
export function TokensPage() {
  const session = useSession()
  const userId = session.me?.id
  const [page, setPage] = useState(1)
  const [creating, setCreating] = useState(false)
  // The secret's only home: React state, gone with the page.
  const [created, setCreated] = useState<CreatedPersonalAccessToken | undefined>(undefined)
  const [error, setError] = useState<string | undefined>(undefined)

  // Always one's own, even for a user who may read everyone's.
  const tokens = useResource<Page<PersonalAccessToken>>((signal) => api.list('/api/v1/personal-access-tokens', { query: { page: String(page), per_page: String(PER_PAGE), ...(userId === undefined ? {} : { user_id: String(userId) }) }, signal }), `${userId}:${page}`)

  async function act(action: () => Promise<unknown>) {
    setError(undefined)
    try {
      await action()
      tokens.reload()
    } catch (failure) {
      setError(failure instanceof Error ? failure.message : String(failure))
    }
  }

  const columns: Column<PersonalAccessToken>[] = [
    { header: 'Name', cell: (token) => token.bio === '' ? token.name : <>{token.name}<br /><small>{token.bio}</small></> },
    { header: 'Scopes', cell: (token) => token.scopes.join(', ') },
    { header: 'State', cell: (token) => <StateBadge state={token.state === 'inactive' ? 'revoked' : token.state} /> },
    { header: 'Expires', cell: (token) => formatTime(token.expired_at) },
    { header: 'Last used', cell: (token) => token.last_used_at === null ? 'never' : formatTime(token.last_used_at) },
    {
      header: 'Actions',
      cell: (token) => (
        <span className="row-actions">
          {token.state === 'active' ? <button type="button" className="danger" onClick={() => void act(() => api.patch('/api/v1/personal-access-tokens/{id}', { path: { id: String(token.id) }, body: { state: 'inactive' } }))}>Revoke</button> : null}
          <button type="button" onClick={() => void act(() => api.delete('/api/v1/personal-access-tokens/{id}', { path: { id: String(token.id) } }))}>Delete</button>
        </span>
      ),
    },
  ]

  return (
    <>
      <PageHeader title="Access tokens">
        <button type="button" className="primary" aria-expanded={creating} onClick={() => setCreating(!creating)}>New token</button>
      </PageHeader>
      <p>A token lets a program (Harbor, a script) call the API as you, within its scopes: <code>job</code> for preheat and jobs, <code>cluster</code> for clusters and their members.</p>
      {created === undefined ? null : <TokenSecret name={created.name} token={created.token} onDone={() => setCreated(undefined)} />}
      {creating ? <NewTokenForm onCreated={(token) => { setCreating(false); setCreated(token); tokens.reload() }} /> : null}
      <ErrorLine message={error ?? tokens.error} />
      <DataTable caption="Tokens" columns={columns} rows={tokens.data?.items} rowKey={(token) => token.id} empty="no tokens" />
      <Pager page={page} perPage={PER_PAGE} total={tokens.data?.total} onPage={setPage} />
    </>
  )
}
