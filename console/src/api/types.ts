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

// cluster overview, swarm (docs/manager-api.md, "Console data")

/** `members` of each cluster in `GET /api/v1/clusters` and `GET /api/v1/clusters/:id`. */
export interface ClusterMembers {
  readonly active_schedulers: number
  readonly active_seed_peers: number
  readonly hosts: number
}

/** `GET /api/v1/hosts/versions`: most common first, then by version. */
export interface HostVersion {
  readonly version: string
  readonly count: number
}

/** Why a peer fetched from the origin; the manager passes on a reason it does not know as it is. */
export type BackToSourceReason = 'seed_peer' | 'no_seed_peer' | 'seed_peer_failed' | 'no_parent' | 'priority' | 'blocklisted' | 'peer_fallback' | (string & {})

export interface OverviewCounts {
  readonly bytes_from_peers: number
  readonly bytes_from_origin: number
  readonly bytes_from_seed_peers: number
  readonly tasks_started: number
  readonly tasks_finished: number
  readonly peers_started: number
  readonly peers_finished: number
  readonly peers_failed: number
  readonly back_to_source: number
}

/** One minute of the overview; `at` is its start. */
export interface OverviewBucket extends OverviewCounts {
  readonly at: string
}

/** `GET /api/v1/clusters/:id/overview`: the last hour, summed over the schedulers that answered. */
export interface ClusterOverview {
  readonly cluster_id: number
  readonly window: { readonly from: string; readonly to: string; readonly bucket_seconds: number }
  readonly schedulers: { readonly asked: number; readonly answered: number }
  readonly totals: OverviewCounts & { readonly back_to_source_reasons: ReadonlyArray<{ readonly reason: BackToSourceReason; readonly count: number }> }
  /** 60 minutes, oldest first, empty ones included. */
  readonly buckets: readonly OverviewBucket[]
}

export interface SwarmPeer {
  readonly id: string
  readonly host_id: string
  readonly hostname: string
  readonly ip: string
  readonly type: 'seed' | 'normal'
  readonly state: 'pending' | 'running' | 'back-to-source' | 'succeeded' | 'failed' | 'left'
  readonly finished_pieces: number
  readonly bytes_from_peers: number
  readonly bytes_from_origin: number
  readonly uploaded_bytes: number
  /** Received over the last ~5 s. */
  readonly rate_bytes_per_second: number
  readonly back_to_source_reason: BackToSourceReason | null
  readonly created_at: string
  readonly updated_at: string
}

export interface SwarmEdge {
  readonly parent: string
  readonly child: string
  readonly bytes: number
  readonly pieces: number
  /** The parent is among the child's parents now. */
  readonly active: boolean
}

/** `GET /api/v1/tasks/:task_id/swarm`. */
export interface TaskSwarm {
  readonly task_id: string
  readonly cluster_id: number
  readonly scheduler: { readonly id: number; readonly host_name: string; readonly ip: string }
  readonly url: string
  /** 0 while unknown, as are piece_length and total_pieces. */
  readonly content_length: number
  readonly piece_length: number
  readonly total_pieces: number
  readonly updated_at: string
  /** At most 1,000 peers and 10,000 edges, the heaviest; `truncated` when more exist. */
  readonly peers: readonly SwarmPeer[]
  readonly edges: readonly SwarmEdge[]
  readonly totals: { readonly bytes_from_peers: number; readonly bytes_from_origin: number; readonly bytes_from_seed_peers: number }
  readonly truncated: boolean
}

export interface Answers {
  '/api/v1/users/me': { get: Me }
  '/api/v1/users/signin': { post: SigninAnswer }
  '/api/v1/users/signout': { post: undefined }
  '/api/v1/users/{id}/reset_password': { post: undefined }
  // cluster overview, swarm
  '/api/v1/hosts/versions': { get: HostVersion[] }
  '/api/v1/clusters/{id}/overview': { get: ClusterOverview }
  '/api/v1/tasks/{task_id}/swarm': { get: TaskSwarm }
}

/** Every key of `Answers` is a route of the OpenAPI document. */
export type AnswersAreRoutes = keyof Answers extends keyof paths ? true : never
export const ANSWERS_ARE_ROUTES: AnswersAreRoutes = true
