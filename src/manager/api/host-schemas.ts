import { z } from 'zod'
import { pagingQuery, queryInt } from './input-schemas.js'

// The console checks its host filters with this same schema: nothing here may need Node.

const filterText = z.string().min(1).max(255)

/** `GET /api/v1/hosts`: paging and filters; `hostname` and `ip` match substrings, the others exactly. */
export const hostsQuery = pagingQuery.extend({
  cluster_id: queryInt(1, 2_147_483_647).optional(),
  type: z.enum(['normal', 'seed']).optional(),
  version: filterText.optional(),
  idc: filterText.optional(),
  location: filterText.optional(),
  hostname: filterText.optional(),
  ip: filterText.optional(),
})
