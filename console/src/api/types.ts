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

// --- Jobs (preheat and distribution pages): src/manager/api/job-json.ts words these. ---

export type JobState = 'PENDING' | 'SUCCESS' | 'FAILURE'
/** Where a PENDING job is: waiting for its start time, in the queue, or running. */
export type JobPhase = 'scheduled' | 'queued' | 'running' | 'done'
export type JobHostState = 'PENDING' | 'RUNNING' | 'SUCCESS' | 'FAILURE'

/** A job in Dragonfly's shape plus Damselfly's fields (`GET /api/v1/jobs/:id`). */
export interface Job {
  readonly id: number
  readonly task_id: string
  readonly type: 'preheat' | 'distribution' | 'get_task' | 'delete_task'
  readonly state: JobState
  readonly phase: JobPhase
  readonly bio: string
  /** As stored: `urls` (never `url`), no credentials; `rate_limit` in bytes per second. */
  readonly args: Readonly<Record<string, unknown>>
  readonly result: unknown
  readonly error: string
  readonly user_id: number | null
  readonly user_name: string
  readonly run_count: number
  readonly copied_from: number | null
  readonly stop_requested_by: string | null
  readonly scheduled_at: string | null
  readonly started_at: string | null
  readonly finished_at: string | null
  readonly scheduler_clusters: readonly { readonly id: number; readonly name: string }[]
  readonly created_at: string
  readonly updated_at: string
}

/** One host's download of one of a job's URLs (`GET /api/v1/jobs/:id/hosts`, `event: host`). */
export interface JobHostRow {
  readonly scheduler_cluster_id: number
  /** The host's id, or the name asked for when no host matched it. */
  readonly host_id: string
  readonly hostname: string
  readonly ip: string
  readonly host_type: 'super' | 'normal'
  readonly url: string
  readonly task_id: string
  readonly state: JobHostState
  readonly completed_bytes: number
  readonly content_length: number
  readonly finished_pieces: number
  readonly total_pieces: number
  readonly bytes_per_second: number
  /** The failure's error code; '' unless FAILURE. */
  readonly code: string
  readonly description: string
  readonly cost_ms: number
  readonly updated_at: string
}

// Declaration merging: the jobs routes, kept apart from the other areas' entries.
export interface Answers {
  '/api/v1/jobs': { get: Job[]; post: Job }
  '/api/v1/jobs/{id}': { get: Job }
  '/api/v1/jobs/{id}/stop': { post: Job }
  '/api/v1/jobs/{id}/rerun': { post: Job }
  '/api/v1/jobs/{id}/copy': { post: Job }
  '/api/v1/jobs/{id}/hosts': { get: JobHostRow[] }
}
