import { z } from 'zod'
import { PERMISSION_OBJECTS } from '../auth/permissions.js'
import { ACTOR_TYPES, AUDIT_STATES } from '../db/audit-kinds.js'
import { pagingQuery, rfc3339 } from './input-schemas.js'

// The console checks its audit filters with this same schema: nothing here may need Node.

/** Methods the audit log records: only those that change something. */
export const AUDITED_METHODS = ['POST', 'PUT', 'PATCH', 'DELETE'] as const

/** `GET /api/v1/audits`: paging and filters; `since` is inclusive, `until` exclusive. */
export const auditsQuery = pagingQuery.extend({
  actor_type: z.enum(ACTOR_TYPES).optional(),
  actor_name: z.string().max(255).optional(),
  object: z.enum(PERMISSION_OBJECTS).optional(),
  state: z.enum(AUDIT_STATES).optional(),
  method: z.enum(AUDITED_METHODS).optional(),
  since: rfc3339.optional(),
  until: rfc3339.optional(),
})
