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

export interface Answers {
  '/api/v1/users/me': { get: Me }
  '/api/v1/users/signin': { post: SigninAnswer }
  '/api/v1/users/signout': { post: undefined }
  '/api/v1/users/{id}/reset_password': { post: undefined }
}

/** Every key of `Answers` is a route of the OpenAPI document. */
export type AnswersAreRoutes = keyof Answers extends keyof paths ? true : never
export const ANSWERS_ARE_ROUTES: AnswersAreRoutes = true
