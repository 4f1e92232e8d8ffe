import { Route } from 'react-router'
import { SwarmPage } from './swarm-page'
import { TasksPage } from './tasks-page'

/** The tasks pages, under the signed-in layout. */
export const tasksRoutes = (
  <>
    <Route path="/tasks" element={<TasksPage />} />
    <Route path="/tasks/:taskId/swarm" element={<SwarmPage />} />
  </>
)
