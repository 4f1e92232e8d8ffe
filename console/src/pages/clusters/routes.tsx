import { Route } from 'react-router'

/** The clusters pages, under the signed-in layout. */
export const clustersRoutes = (
  <>
    <Route path="/clusters-placeholder" element={null} />
  </>
)
