import { useEffect, useRef, useState, type SyntheticEvent } from 'react'
import { api, type Page } from '../../api/client'
import type { User } from '../../api/types'
import { useResource } from '../../api/use-resource'
import { useSession } from '../../auth/session'
import { DataTable, type Column } from '../../components/data-table'
import { ErrorLine } from '../../components/error-line'
import { Field } from '../../components/field'
import { formatTime } from '../../components/format'
import { PageHeader } from '../../components/layout'
import { Pager } from '../../components/pager'
import { StateBadge } from '../../components/state-badge'
import { NewUserForm } from './new-user-form'
import { SetPasswordForm } from './set-password-form'
import { UserRolesEditor } from './user-roles-editor'

const PER_PAGE = 20

/** What the panel under the table works on: one user's roles or password. */
type Editing = { readonly kind: 'roles' | 'password'; readonly user: User } | undefined

/** One user's role names, in a table cell; `version` changes when the page changed roles. */
function RoleNames({ user, version }: { readonly user: User; readonly version: number }) {
  const roles = useResource((signal) => api.get('/api/v1/users/{id}/roles', { path: { id: String(user.id) }, signal }), `${user.id}:${version}`)
  if (roles.error !== undefined) return <span className="error-line">{roles.error}</span>
  if (roles.data === undefined) return <span>…</span>
  return <span>{roles.data.length === 0 ? 'none' : roles.data.join(', ')}</span>
}

/** Users and their roles; root only (the API refuses others, and the page says so without asking). */
export function UsersPage() {
  const session = useSession()
  if (!session.isRoot) {
    return (
      <>
        <PageHeader title="Users" />
        <p>You may not see this page.</p>
      </>
    )
  }
  return <UsersOfRoot />
}

function UsersOfRoot() {
  const session = useSession()
  const [page, setPage] = useState(1)
  const [nameInput, setNameInput] = useState('')
  const [name, setName] = useState('')
  const [creating, setCreating] = useState(false)
  const [editing, setEditing] = useState<Editing>(undefined)
  const [rolesVersion, setRolesVersion] = useState(0)
  const [error, setError] = useState<string | undefined>(undefined)
  const [notice, setNotice] = useState<string | undefined>(undefined)
  const panelHeading = useRef<HTMLHeadingElement>(null)

  const users = useResource<Page<User>>((signal) => api.list('/api/v1/users', { query: { page: String(page), per_page: String(PER_PAGE), name }, signal }), `${page}:${name}`)
  const roles = useResource((signal) => api.get('/api/v1/roles', { signal }), 'roles')
  const roleChoices = roles.data?.map((role) => role.name) ?? []

  // Keyboard users land on the panel they opened, not at the top of the page.
  useEffect(() => {
    if (editing !== undefined) panelHeading.current?.focus()
  }, [editing])

  function filter(event: SyntheticEvent) {
    event.preventDefault()
    setPage(1)
    setName(nameInput.trim())
  }

  async function setState(user: User, state: User['state']) {
    setError(undefined)
    setNotice(undefined)
    try {
      await api.patch('/api/v1/users/{id}', { path: { id: String(user.id) }, body: { state } })
      setNotice(`${user.name} is ${state === 'enable' ? 'enabled' : 'disabled'}.`)
      users.reload()
    } catch (failure) {
      setError(failure instanceof Error ? failure.message : String(failure))
    }
  }

  const columns: Column<User>[] = [
    { header: 'Name', cell: (user) => user.name },
    { header: 'Email', cell: (user) => user.email },
    { header: 'State', cell: (user) => <StateBadge state={user.state} /> },
    { header: 'Roles', cell: (user) => <RoleNames user={user} version={rolesVersion} /> },
    { header: 'Last sign-in', cell: (user) => user.last_signin_at === null ? 'never' : formatTime(user.last_signin_at) },
    {
      header: 'Actions',
      cell: (user) => (
        <span className="row-actions">
          {user.state === 'enable'
            ? <button type="button" className="danger" onClick={() => void setState(user, 'disable')}>Disable</button>
            : <button type="button" onClick={() => void setState(user, 'enable')}>Enable</button>}
          <button type="button" onClick={() => setEditing({ kind: 'roles', user })}>Edit roles</button>
          {user.id === session.me?.id ? null : <button type="button" onClick={() => setEditing({ kind: 'password', user })}>Set password</button>}
        </span>
      ),
    },
  ]

  return (
    <>
      <PageHeader title="Users">
        <button type="button" className="primary" aria-expanded={creating} onClick={() => setCreating(!creating)}>New user</button>
      </PageHeader>
      {creating ? <NewUserForm roleChoices={roleChoices} onCreated={(user) => { setCreating(false); setNotice(`${user.name} created.`); users.reload() }} /> : null}
      <ErrorLine message={roles.error} />
      <form className="filters" onSubmit={filter} role="search">
        <Field label="Find user" value={nameInput} onChange={(event) => setNameInput(event.target.value)} hint="the exact name" />
        <div className="field"><button type="submit">Filter</button></div>
      </form>
      <ErrorLine message={error ?? users.error} />
      {notice === undefined ? null : <p role="status">{notice}</p>}
      <DataTable caption="Users" columns={columns} rows={users.data?.items} rowKey={(user) => user.id} empty={name === '' ? 'no users' : `no user named ${name}`} />
      <Pager page={page} perPage={PER_PAGE} total={users.data?.total} onPage={setPage} />
      {editing === undefined ? null : (
        <section className="card" aria-labelledby="user-panel-title">
          <div className="page-header">
            <h2 id="user-panel-title" ref={panelHeading} tabIndex={-1}>{editing.kind === 'roles' ? `Roles of ${editing.user.name}` : `Password of ${editing.user.name}`}</h2>
            <button type="button" onClick={() => setEditing(undefined)}>Close</button>
          </div>
          {editing.kind === 'roles'
            ? <UserRolesEditor key={editing.user.id} user={editing.user} roleChoices={roleChoices} onChanged={() => { setRolesVersion((version) => version + 1); if (editing.user.id === session.me?.id) void session.refresh() }} />
            : <SetPasswordForm key={editing.user.id} user={editing.user} />}
        </section>
      )}
    </>
  )
}
