import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { z } from 'zod'
import type { Logger } from '../../common/logger.js'
import { DamselflyError } from '../../protocol/damselfly-error.js'
import type { Authenticator } from '../auth/authenticator.js'
import { scopesAllow } from '../auth/permissions.js'
import { ANONYMOUS, principalCan, type Principal } from '../auth/principal.js'
import type { ActorType } from '../db/audit-kinds.js'
import type { AuditsRepository } from '../db/audits-repository.js'
import { describeIssues } from './describe-issues.js'
import type { Route } from './route.js'
import { credentialOf, isSameOrigin } from './session-cookie.js'

const UNSAFE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE'])

/** Routes under this prefix are Dragonfly's Open API: personal access tokens only. */
export const OPEN_API_PREFIX = '/oapi/'

/** What each request learned on its way: who asks, and who the audit row should name. */
interface RequestState {
  principal: Principal
  actor?: { type: ActorType; name: string }
}

/** Parses one part of a request with its schema, or throws INVALID_ARGUMENT naming the field. */
export function parseInput(part: 'params' | 'query' | 'body', schema: z.ZodType | undefined, value: unknown): unknown {
  if (schema === undefined) return undefined
  const result = schema.safeParse(value ?? (part === 'body' ? undefined : {}))
  if (!result.success) throw new DamselflyError('INVALID_ARGUMENT', describeIssues(part, result.error.issues))
  return result.data
}

function actorOf(state: RequestState | undefined): { type: ActorType; name: string } {
  if (state?.actor !== undefined) return state.actor
  const principal = state?.principal ?? ANONYMOUS
  return principal.kind === 'anonymous' ? { type: 'anonymous', name: '' } : { type: principal.kind, name: principal.user.name }
}

/**
 * Registers each route of the table with, in order: authentication (401), the same-origin check
 * for cookie-authenticated changes and the must-change-password rule (403), the route's access
 * (403), its input parsed once by its schemas (400), the handler, and an audit row for every
 * unsafe request however it ended.
 */
export function registerRoutes(
  app: FastifyInstance,
  routes: readonly Route[],
  components: { authenticator: Authenticator; audits: AuditsRepository; logger: Logger },
): void {
  const states = new WeakMap<FastifyRequest, RequestState>()

  async function authorize(route: Route, request: FastifyRequest): Promise<void> {
    const credential = credentialOf(request)
    const tokensOnly = route.url.startsWith(OPEN_API_PREFIX)
    const unsafe = UNSAFE_METHODS.has(route.method)
    if (route.access.kind === 'public') {
      // A stale cookie or token must not stop anyone signing in: a public route just ignores it.
      let principal: Principal = ANONYMOUS
      if (credential !== undefined) {
        principal = await components.authenticator.authenticate(credential, { tokensOnly }).catch((error: unknown) => {
          if (error instanceof DamselflyError && error.code === 'UNAUTHENTICATED') return ANONYMOUS
          throw error
        })
      }
      if (principal.kind === 'user' && principal.viaCookie && unsafe && !isSameOrigin(request)) principal = ANONYMOUS
      states.set(request, { principal })
      return
    }
    if (credential === undefined) {
      throw new DamselflyError('UNAUTHENTICATED', tokensOnly ? 'send Authorization: Bearer <personal access token>' : 'sign in, or send Authorization: Bearer <token>')
    }
    const principal = await components.authenticator.authenticate(credential, { tokensOnly })
    states.set(request, { principal })
    if (principal.kind === 'anonymous') throw new DamselflyError('UNAUTHENTICATED', 'sign in first')
    if (principal.kind === 'user' && principal.viaCookie && unsafe && !isSameOrigin(request)) {
      throw new DamselflyError('PERMISSION_DENIED', 'a change made with the session cookie needs an Origin or Referer header naming this host')
    }
    if (principal.user.mustChangePassword && route.beforePasswordChange !== true) {
      throw new DamselflyError('PERMISSION_DENIED', `the password must be changed first: POST /api/v1/users/${principal.user.id}/reset_password`)
    }
    const { object } = route.access
    if (principal.kind === 'pat' && !scopesAllow(principal.token.scopes, object)) {
      throw new DamselflyError('PERMISSION_DENIED', `personal access token ${principal.token.id} has no scope for ${object}`)
    }
    if (route.access.kind === 'signed-in') return
    const { action } = route.access
    if (principalCan(principal, object, action)) return
    if (route.ownerOf !== undefined && principal.kind === 'user') {
      const owner = await route.ownerOf(parseInput('params', route.params, request.params))
      if (owner === principal.user.id) return
    }
    throw new DamselflyError('PERMISSION_DENIED', `${principal.user.name} may not ${action} ${object}`)
  }

  async function audit(route: Route, request: FastifyRequest, statusCode: number): Promise<void> {
    const actor = actorOf(states.get(request))
    try {
      await components.audits.record({
        actorType: actor.type,
        actorName: actor.name,
        method: route.method,
        // Never the query string: a token may ride in `access_token`.
        path: request.url.split('?')[0] ?? '',
        object: route.access.object,
        state: statusCode < 400 ? 'success' : 'failure',
        statusCode,
      })
    } catch (error) {
      components.logger.error({ err: error, method: route.method, route: route.url }, 'audit row not written')
    }
  }

  for (const route of routes) {
    app.route({
      method: route.method,
      url: route.url,
      config: { access: route.access },
      onRequest: async (request) => authorize(route, request),
      onSend: async (request, reply, payload) => {
        if (UNSAFE_METHODS.has(route.method)) await audit(route, request, reply.statusCode)
        return payload
      },
      handler: async (request, reply) => {
        const state = states.get(request) ?? { principal: ANONYMOUS }
        const params = parseInput('params', route.params, request.params)
        const query = parseInput('query', route.query, request.query)
        const body = parseInput('body', route.body, request.body)
        const result = await route.handler({
          params,
          query,
          body,
          principal: state.principal,
          request,
          reply,
          can: (object, action) => principalCan(state.principal, object, action),
          auditAs: (type, name) => { state.actor = { type, name } },
        })
        void reply.status(route.status ?? 200)
        return route.status === 204 ? reply.send() : result
      },
    })
  }
}
