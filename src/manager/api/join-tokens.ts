import { z } from 'zod'
import { parseDurationMs } from '../../common/units.js'
import { DamselflyError } from '../../protocol/damselfly-error.js'
import { JOIN_ROLES } from '../../security/identity.js'
import type { ClustersRepository } from '../db/clusters-repository.js'
import type { JoinTokenSummary, JoinTokensRepository } from '../trust/join-tokens-repository.js'
import { toRfc3339 } from './input-schemas.js'
import { defineRoute, permission, type Route } from './route.js'

/** The longest a join token may live: it is a credential that makes hosts. */
const MAX_TTL_MS = 30 * 86_400_000
const DEFAULT_TTL = '24h'

const ttl = z.string().max(32).default(DEFAULT_TTL).transform((text, ctx) => {
  try {
    const ms = parseDurationMs(text)
    if (ms > 0 && ms <= MAX_TTL_MS) return ms
    ctx.addIssue({ code: 'custom', message: 'must be more than 0 and at most 720h' })
  } catch {
    ctx.addIssue({ code: 'custom', message: 'must be a duration such as 30m, 24h' })
  }
  return z.NEVER
})

function tokenJson(summary: JoinTokenSummary, token?: string): Record<string, unknown> {
  return {
    id: summary.id,
    ...(token === undefined ? {} : { token }),
    role: summary.role,
    cluster_id: summary.clusterId,
    uses_left: summary.usesLeft,
    expires_at: toRfc3339(summary.expiresAtMs),
    created_by: summary.createdBy,
    created_at: toRfc3339(summary.createdAtMs),
  }
}

/**
 * Join tokens: what a scheduler, seed peer or daemon trades for its certificate on a first start
 * (`--join-token`). Scoped to a cluster and a role, expiring; the token is shown once.
 */
export function joinTokenRoutes(components: { joinTokens: JoinTokensRepository; clusters: ClustersRepository }): Route[] {
  const { joinTokens, clusters } = components
  return [
    defineRoute({
      method: 'POST',
      url: '/api/v1/join-tokens',
      summary: 'Create a join token for a role in a cluster (the default cluster unless named); the answer holds the token, once',
      access: permission('join_token', 'write'),
      status: 201,
      body: z.object({
        role: z.enum(JOIN_ROLES),
        cluster_id: z.number().int().min(1).max(2_147_483_647).optional(),
        ttl,
        uses: z.number().int().min(1).max(1_000_000).optional(),
      }),
      handler: async ({ body, principal }) => {
        if (principal.kind === 'anonymous') throw new DamselflyError('UNAUTHENTICATED', 'sign in first')
        const clusterId = body.cluster_id ?? (await clusters.ensureDefault()).id
        const { token, summary } = await joinTokens.create({ role: body.role, clusterId, ttlMs: body.ttl, uses: body.uses, createdBy: principal.user.name })
        return tokenJson(summary, token)
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/api/v1/join-tokens',
      summary: 'List the join tokens that can still be redeemed (never their secrets)',
      access: permission('join_token', 'read'),
      handler: async () => (await joinTokens.list()).map((summary) => tokenJson(summary)),
    }),
    defineRoute({
      method: 'DELETE',
      url: '/api/v1/join-tokens/:id',
      summary: 'Revoke a join token: nobody joins with it from now on',
      access: permission('join_token', 'write'),
      params: z.object({ id: z.string().regex(/^[a-z0-9]{6}$/, 'must be the 6-character id of a join token') }),
      status: 204,
      handler: async ({ params }) => {
        if (!(await joinTokens.revoke(params.id))) throw new DamselflyError('NOT_FOUND', `no join token ${params.id}`)
        return undefined
      },
    }),
  ]
}
