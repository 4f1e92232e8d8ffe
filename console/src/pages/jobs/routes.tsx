import { Route } from 'react-router'

/** The jobs pages, under the signed-in layout. */
export const jobsRoutes = (
  <>
    <Route path="/jobs-placeholder" element={null} />
  </>
)
