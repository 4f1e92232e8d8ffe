import { useState, type ReactNode } from 'react'
import { NavLink, Outlet, useNavigate } from 'react-router'
import { useSession } from '../auth/session'
import type { PermissionObject } from '../api/types'

interface NavItem {
  readonly to: string
  readonly label: string
  /** Shown only to users who may read this; undefined: everyone signed in. */
  readonly needs?: PermissionObject
  readonly rootOnly?: true
}

/** The console's sections, in the order of the menu. */
export const NAV_ITEMS: readonly NavItem[] = [
  { to: '/clusters', label: 'Clusters', needs: 'cluster' },
  { to: '/jobs/preheats', label: 'Preheat', needs: 'job' },
  { to: '/jobs/distributions', label: 'Distribution', needs: 'job' },
  { to: '/tasks', label: 'Tasks', needs: 'job' },
  { to: '/audit', label: 'Audit log', needs: 'audit' },
  { to: '/users', label: 'Users', rootOnly: true },
  { to: '/tokens', label: 'Access tokens' },
  { to: '/profile', label: 'Profile' },
]

/** The frame of every signed-in page: the menu (a button on a phone) and the page. */
export function Layout() {
  const session = useSession()
  const navigate = useNavigate()
  const [open, setOpen] = useState(false)
  const items = NAV_ITEMS.filter((item) => (item.rootOnly !== true || session.isRoot) && (item.needs === undefined || session.can(item.needs, 'read')))
  return (
    <div className="shell">
      <a className="skip-link" href="#main">Skip to content</a>
      <header className="topbar">
        <span className="brand">Damselfly</span>
        <button type="button" className="menu-button" aria-expanded={open} aria-controls="main-nav" onClick={() => setOpen(!open)}>Menu</button>
        <span className="whoami">{session.me?.name}</span>
        <button type="button" className="link-button" onClick={() => void session.signOut().then(() => navigate('/signin'))}>Sign out</button>
      </header>
      <nav id="main-nav" className={open ? 'sidebar open' : 'sidebar'} aria-label="main">
        <ul>
          {items.map((item) => <li key={item.to}><NavLink to={item.to} onClick={() => setOpen(false)}>{item.label}</NavLink></li>)}
        </ul>
      </nav>
      <main id="main" className="content" tabIndex={-1}>
        <Outlet />
      </main>
    </div>
  )
}

/** A page's title and, beside it, its main actions. */
export function PageHeader({ title, children }: { readonly title: string; readonly children?: ReactNode }) {
  return (
    <div className="page-header">
      <h1>{title}</h1>
      {children === undefined ? null : <div className="actions">{children}</div>}
    </div>
  )
}
