import type { Clock } from '../../common/clock.js'
import { DamselflyError } from '../../protocol/damselfly-error.js'
import { newSecretToken } from '../auth/secret-token.js'
import type { PersonalAccessToken, PersonalAccessTokensRepository } from '../db/personal-access-tokens-repository.js'
import { idParams, toRfc3339 } from './input-schemas.js'
import { sendPage, toPage } from './paging.js'
import { newTokenBody, tokenPatchBody, tokensQuery } from './personal-access-token-schemas.js'
import { defineRoute, permission, signedIn, type Route } from './route.js'

/** Dragonfly's JSON for a token; `token` only in the answer to its creation. */
function tokenJson(token: PersonalAccessToken, secret?: string): Record<string, unknown> {
  return {
    id: token.id,
    name: token.name,
    bio: token.bio,
    ...(secret === undefined ? {} : { token: secret }),
    scopes: token.scopes,
    state: token.state,
    expired_at: toRfc3339(token.expiresAtMs),
    user_id: token.userId,
    last_used_at: token.lastUsedAtMs === null ? null : toRfc3339(token.lastUsedAtMs),
    created_at: toRfc3339(token.createdAtMs),
    updated_at: toRfc3339(token.updatedAtMs),
  }
}

/**
 * Personal access tokens: each user makes and manages their own; `personal_access_token`
 * permissions reach everyone's. The secret is shown once and kept as a sha256 only.
 */
export function personalAccessTokenRoutes(components: { tokens: PersonalAccessTokensRepository; clock: Clock }): Route[] {
  const { tokens, clock } = components
  const ownerOf = async (params: { id: number }): Promise<number | undefined> => (await tokens.get(params.id))?.userId
  const future = (field: string, expiresAtMs: number): number => {
    if (expiresAtMs <= clock.nowMs()) throw new DamselflyError('INVALID_ARGUMENT', `body.${field}: must be in the future`)
    return expiresAtMs
  }
  return [
    defineRoute({
      method: 'POST',
      url: '/api/v1/personal-access-tokens',
      summary: 'Create a token for oneself; the answer holds the token, once',
      access: signedIn('personal_access_token'),
      status: 201,
      body: newTokenBody,
      handler: async ({ body, principal }) => {
        if (principal.kind === 'anonymous') throw new DamselflyError('UNAUTHENTICATED', 'sign in first')
        const { token, hash } = newSecretToken('pat')
        const created = await tokens.create({ name: body.name, bio: body.bio, scopes: body.scopes, expiresAtMs: future('expired_at', body.expired_at), userId: principal.user.id, tokenHash: hash })
        return tokenJson(created, token)
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/api/v1/personal-access-tokens',
      summary: 'List one\'s own tokens (everyone\'s, filtered by user_id, with read on personal_access_token)',
      access: signedIn('personal_access_token'),
      query: tokensQuery,
      handler: async ({ query, principal, can, request, reply }) => {
        if (principal.kind === 'anonymous') throw new DamselflyError('UNAUTHENTICATED', 'sign in first')
        const userId = can('personal_access_token', 'read') ? query.user_id : principal.user.id
        const filter = { ...(userId === undefined ? {} : { userId }), ...(query.state === undefined ? {} : { state: query.state }) }
        return sendPage(request, reply, query, await tokens.list(filter, toPage(query)), (token) => tokenJson(token))
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/api/v1/personal-access-tokens/:id',
      summary: 'Get a token (never its secret)',
      access: permission('personal_access_token', 'read'),
      ownerOf,
      params: idParams,
      handler: async ({ params }) => tokenJson(await tokens.getOrThrow(params.id)),
    }),
    defineRoute({
      method: 'PATCH',
      url: '/api/v1/personal-access-tokens/:id',
      summary: 'Change a token\'s name, bio, scopes, expiry or state (inactive revokes it)',
      access: permission('personal_access_token', 'write'),
      ownerOf,
      params: idParams,
      body: tokenPatchBody,
      handler: async ({ params, body }) => {
        await tokens.getOrThrow(params.id)
        return tokenJson(await tokens.update(params.id, {
          ...(body.name === undefined ? {} : { name: body.name }),
          ...(body.bio === undefined ? {} : { bio: body.bio }),
          ...(body.scopes === undefined ? {} : { scopes: body.scopes }),
          ...(body.state === undefined ? {} : { state: body.state }),
          ...(body.expired_at === undefined ? {} : { expiresAtMs: future('expired_at', body.expired_at) }),
        }))
      },
    }),
    defineRoute({
      method: 'DELETE',
      url: '/api/v1/personal-access-tokens/:id',
      summary: 'Delete a token; it stops working at once',
      access: permission('personal_access_token', 'write'),
      ownerOf,
      params: idParams,
      status: 204,
      handler: async ({ params }) => tokens.delete(params.id),
    }),
  ]
}
