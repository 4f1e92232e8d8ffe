import { Route } from 'react-router'

/** The tasks pages, under the signed-in layout. */
export const tasksRoutes = (
  <>
    <Route path="/tasks-placeholder" element={null} />
  </>
)
