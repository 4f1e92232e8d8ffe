import { Route } from 'react-router'
import { AuditPage } from './audit'
import { ChangePasswordPage } from './change-password'
import { ProfilePage } from './profile'
import { TokensPage } from './tokens'
import { UsersPage } from './users'

/** The account pages, under the signed-in layout. */
export const accountRoutes = (
  <>
    <Route path="/change-password" element={<ChangePasswordPage />} />
    <Route path="/profile" element={<ProfilePage />} />
    <Route path="/users" element={<UsersPage />} />
    <Route path="/tokens" element={<TokensPage />} />
    <Route path="/audit" element={<AuditPage />} />
  </>
)
