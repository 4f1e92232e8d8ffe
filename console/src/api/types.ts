import type { paths } from './schema'

/**
 * What the manager's routes answer, in the API's own field names (docs/manager-api.md). Each
 * page adds the routes it reads to `Answers`; a path that is not a route fails to compile.
 */

export type PermissionObject = 'cluster' | 'scheduler' | 'seed_peer' | 'host' | 'join_token' | 'certificate' | 'user' | 'role' | 'personal_access_token' | 'audit' | 'job'
export type PermissionAction = 'read' | 'write'

export interface Permission {
  readonly object: PermissionObject
  readonly action: PermissionAction
}

export interface User {
  readonly id: number
  readonly name: string
  readonly email: string
  readonly state: 'enable' | 'disable'
  readonly must_change_password: boolean
  readonly last_signin_at: string | null
  readonly created_at: string
  readonly updated_at: string
}

/** `GET /api/v1/users/me`: the caller. */
export interface Me extends User {
  readonly roles: string[]
  readonly permissions: Permission[]
}

export interface SigninAnswer {
  readonly token: string
  readonly expire: string
}

// Account pages (profile, users, roles, access tokens, audit log).

/** `GET /api/v1/roles`: a role and what it grants. */
export interface Role {
  readonly id: number
  readonly name: string
  readonly description: string
  readonly builtin: boolean
  readonly permissions: Permission[]
  readonly created_at: string
  readonly updated_at: string
}

export type TokenScope = 'job' | 'cluster'

/** A personal access token as listed: never its secret. */
export interface PersonalAccessToken {
  readonly id: number
  readonly name: string
  readonly bio: string
  readonly scopes: TokenScope[]
  /** `inactive`: revoked. */
  readonly state: 'active' | 'inactive'
  readonly expired_at: string
  readonly user_id: number
  readonly last_used_at: string | null
  readonly created_at: string
  readonly updated_at: string
}

/** The answer to a token's creation: the only time its secret is sent. */
export interface CreatedPersonalAccessToken extends PersonalAccessToken {
  readonly token: string
}

/** One audited request (no body, query string or credential). */
export interface Audit {
  readonly id: number
  readonly actor_type: 'user' | 'pat' | 'anonymous' | 'system'
  readonly actor_name: string
  readonly method: string
  readonly path: string
  readonly object: string
  readonly state: 'success' | 'failure'
  readonly status_code: number
  readonly created_at: string
}

export interface Answers {
  '/api/v1/users/me': { get: Me }
  '/api/v1/users/signin': { post: SigninAnswer }
  '/api/v1/users/signout': { post: undefined }
  '/api/v1/users/{id}/reset_password': { post: undefined }
  // Account pages.
  '/api/v1/users': { get: User[]; post: User }
  '/api/v1/users/{id}': { get: User; patch: User }
  '/api/v1/users/{id}/roles': { get: string[] }
  '/api/v1/users/{id}/roles/{role}': { put: undefined; delete: undefined }
  '/api/v1/roles': { get: Role[] }
  '/api/v1/personal-access-tokens': { get: PersonalAccessToken[]; post: CreatedPersonalAccessToken }
  '/api/v1/personal-access-tokens/{id}': { get: PersonalAccessToken; patch: PersonalAccessToken; delete: undefined }
  '/api/v1/audits': { get: Audit[] }
}

/** Every key of `Answers` is a route of the OpenAPI document. */
export type AnswersAreRoutes = keyof Answers extends keyof paths ? true : never
export const ANSWERS_ARE_ROUTES: AnswersAreRoutes = true
