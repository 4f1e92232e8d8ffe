import type { Audit, AuditsRepository } from '../db/audits-repository.js'
import { auditsQuery } from './audit-schemas.js'
import { toRfc3339 } from './input-schemas.js'
import { sendPage, toPage } from './paging.js'
import { defineRoute, permission, type Route } from './route.js'

function auditJson(audit: Audit): Record<string, unknown> {
  return {
    id: audit.id,
    actor_type: audit.actorType,
    actor_name: audit.actorName,
    method: audit.method,
    path: audit.path,
    object: audit.object,
    state: audit.state,
    status_code: audit.statusCode,
    created_at: toRfc3339(audit.createdAtMs),
  }
}

/** The audit log, newest first. */
export function auditRoutes(components: { audits: AuditsRepository }): Route[] {
  return [
    defineRoute({
      method: 'GET',
      url: '/api/v1/audits',
      summary: 'List audit rows, newest first, with filters; since is inclusive, until exclusive',
      access: permission('audit', 'read'),
      query: auditsQuery,
      handler: async ({ query, request, reply }) => {
        const filter = {
          ...(query.actor_type === undefined ? {} : { actorType: query.actor_type }),
          ...(query.actor_name === undefined ? {} : { actorName: query.actor_name }),
          ...(query.object === undefined ? {} : { object: query.object }),
          ...(query.state === undefined ? {} : { state: query.state }),
          ...(query.method === undefined ? {} : { method: query.method }),
          ...(query.since === undefined ? {} : { sinceMs: query.since }),
          ...(query.until === undefined ? {} : { untilMs: query.until }),
        }
        return sendPage(request, reply, query, await components.audits.list(filter, toPage(query)), auditJson)
      },
    }),
  ]
}
