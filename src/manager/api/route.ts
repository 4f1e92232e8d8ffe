import type { FastifyReply, FastifyRequest } from 'fastify'
import type { z } from 'zod'
import type { ActorType } from '../db/audit-kinds.js'
import type { PermissionAction, PermissionObject } from '../auth/permissions.js'
import type { Principal } from '../auth/principal.js'

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'

/**
 * What a route needs of its caller. Every route declares one; a test fails for any route that
 * does not. `object` also names the route in the audit log.
 * - `public`: anyone (sign-in, sign-out).
 * - `signed-in`: any user, acting on their own things (their profile, their tokens); a token
 *   only if its scopes cover `object`.
 * - `permission`: `action` on `object` through the caller's roles (and scopes, for a token), or,
 *   when the route gives `ownerOf`, being the user it names for the request.
 */
export type Access =
  | { readonly kind: 'public'; readonly object: PermissionObject }
  | { readonly kind: 'signed-in'; readonly object: PermissionObject }
  | { readonly kind: 'permission'; readonly object: PermissionObject; readonly action: PermissionAction }

/** What a handler gets: its input parsed by the route's schemas, and who asks. */
export interface RouteContext<P, Q, B> {
  readonly params: P
  readonly query: Q
  readonly body: B
  readonly principal: Principal
  readonly request: FastifyRequest
  readonly reply: FastifyReply
  /** Whether the caller holds `action` on `object` (roles, and scopes for a token). */
  readonly can: (object: PermissionObject, action: PermissionAction) => boolean
  /** Names the actor of the audit row, for routes whose caller is not signed in yet (sign-in). */
  readonly auditAs: (actorType: ActorType, actorName: string) => void
}

type Schema = z.ZodType

/** A route as declared in a resource's table. */
export interface RouteSpec<P extends Schema, Q extends Schema, B extends Schema> {
  readonly method: HttpMethod
  readonly url: string
  readonly summary: string
  readonly access: Access
  /** The user a request is about, when being that user is enough (`access.kind` `permission` only). */
  readonly ownerOf?: (params: z.output<P>) => Promise<number | undefined>
  /** Routes a user who must change their password may still use. */
  readonly beforePasswordChange?: true
  readonly params?: P
  readonly query?: Q
  readonly body?: B
  /** 200 unless said: 201 for a creation, 204 for a deletion. */
  readonly status?: 200 | 201 | 204
  handler(context: RouteContext<z.output<P>, z.output<Q>, z.output<B>>): Promise<unknown>
}

/** A route with its types erased, as the registrar and the OpenAPI document see it. */
export interface Route {
  readonly method: HttpMethod
  readonly url: string
  readonly summary: string
  readonly access: Access
  readonly ownerOf?: (params: unknown) => Promise<number | undefined>
  readonly beforePasswordChange?: true
  readonly params?: Schema
  readonly query?: Schema
  readonly body?: Schema
  readonly status?: 200 | 201 | 204
  handler(context: RouteContext<unknown, unknown, unknown>): Promise<unknown>
}

/** Declares a route; its handler's input types follow from its schemas. */
export function defineRoute<P extends Schema = z.ZodUnknown, Q extends Schema = z.ZodUnknown, B extends Schema = z.ZodUnknown>(spec: RouteSpec<P, Q, B>): Route {
  // Sound: the registrar passes the handler exactly what these schemas produced.
  return spec as unknown as Route
}

export function publicAccess(object: PermissionObject): Access {
  return { kind: 'public', object }
}

export function signedIn(object: PermissionObject): Access {
  return { kind: 'signed-in', object }
}

export function permission(object: PermissionObject, action: PermissionAction): Access {
  return { kind: 'permission', object, action }
}
