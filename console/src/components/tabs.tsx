import { NavLink } from 'react-router'

/** Sub-pages of one page, as links: each has its own address, so a tab can be bookmarked. */
export function Tabs({ label, tabs }: { readonly label: string; readonly tabs: readonly { readonly to: string; readonly label: string }[] }) {
  return (
    <nav className="tabs" aria-label={label}>
      {tabs.map((tab) => <NavLink key={tab.to} to={tab.to} end>{tab.label}</NavLink>)}
    </nav>
  )
}
