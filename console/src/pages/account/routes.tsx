import { Route } from 'react-router'
import { ChangePasswordPage } from './change-password'

/** The account pages, under the signed-in layout. */
export const accountRoutes = (
  <>
    <Route path="/change-password" element={<ChangePasswordPage />} />
  </>
)
