import { z } from 'zod'
import { queryInt } from './input-schemas.js'

// The inputs of the console's live routes (clusters' overview, a task's swarm, host versions).
// Zod only: the console checks its forms with these same schemas, in the browser.

const clusterId = queryInt(1, 2_147_483_647)

/** `GET /api/v1/hosts/versions`: which hosts to count. */
export const hostVersionsQuery = z.object({ cluster_id: clusterId.optional(), type: z.enum(['normal', 'seed']).optional() })

/** A task id: 64 lowercase hex characters, as the schedulers name tasks. */
export const taskIdText = z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex characters')

/** `GET /api/v1/tasks/:task_id/swarm`. */
export const taskSwarmParams = z.object({ task_id: taskIdText })

/** Without `cluster_id`, every cluster's schedulers are asked. */
export const taskSwarmQuery = z.object({ cluster_id: clusterId.optional() })
