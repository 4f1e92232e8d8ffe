import { z } from 'zod'
import { TOKEN_SCOPE_NAMES, type TokenScope } from '../auth/permissions.js'
import { TOKEN_STATES } from '../db/token-states.js'
import { pagingQuery, queryInt, rfc3339 } from './input-schemas.js'

// The console checks its token form with these same schemas: nothing here may need Node.

export const tokenScopes = z.array(z.enum(TOKEN_SCOPE_NAMES as [TokenScope, ...TokenScope[]])).min(1).max(TOKEN_SCOPE_NAMES.length)

export const tokenName = z.string().min(1).max(255)

/** `POST /api/v1/personal-access-tokens`; whether `expired_at` is in the future is the route's question (it owns the clock). */
export const newTokenBody = z.object({ name: tokenName, bio: z.string().max(1024).default(''), scopes: tokenScopes, expired_at: rfc3339 })

/** `PATCH /api/v1/personal-access-tokens/:id`: `state: inactive` revokes it. */
export const tokenPatchBody = z.object({ name: tokenName.optional(), bio: z.string().max(1024).optional(), scopes: tokenScopes.optional(), state: z.enum(TOKEN_STATES).optional(), expired_at: rfc3339.optional() })

/** `GET /api/v1/personal-access-tokens`: paging and filters. */
export const tokensQuery = pagingQuery.extend({ user_id: queryInt(1, 2_147_483_647).optional(), state: z.enum(TOKEN_STATES).optional() })
