import type { ReactNode } from 'react'
import { BrowserRouter, Navigate, Route, Routes, useLocation } from 'react-router'
import { SessionProvider, useSession } from './auth/session'
import { Layout } from './components/layout'
import { accountRoutes } from './pages/account/routes'
import { SignInPage } from './pages/account/sign-in'
import { clustersRoutes } from './pages/clusters/routes'
import { jobsRoutes } from './pages/jobs/routes'
import { tasksRoutes } from './pages/tasks/routes'

/** Pages behind sign-in: the sign-in page until there is a session, the password page until it is changed. */
function SignedIn({ children }: { readonly children: ReactNode }) {
  const session = useSession()
  const location = useLocation()
  if (session.checking) return <p className="loading">loading…</p>
  if (session.me === undefined) return <Navigate to="/signin" replace state={{ from: location.pathname + location.search }} />
  if (session.me.must_change_password && location.pathname !== '/change-password') return <Navigate to="/change-password" replace />
  return children
}

export function AppRoutes() {
  return (
    <Routes>
      <Route path="/signin" element={<SignInPage />} />
      <Route element={<SignedIn><Layout /></SignedIn>}>
        {accountRoutes}
        {clustersRoutes}
        {jobsRoutes}
        {tasksRoutes}
        <Route path="/" element={<Navigate to="/clusters" replace />} />
        <Route path="*" element={<p>No such page.</p>} />
      </Route>
    </Routes>
  )
}

export function App() {
  return (
    <BrowserRouter>
      <SessionProvider>
        <AppRoutes />
      </SessionProvider>
    </BrowserRouter>
  )
}
