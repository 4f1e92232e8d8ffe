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

// cluster overview (docs/manager-api.md, "Console data")

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

// swarm (docs/manager-api.md, "Console data")
/** A peer's state in a swarm snapshot, as the scheduler holds it. */
export type SwarmPeerState = 'pending' | 'running' | 'back-to-source' | 'succeeded' | 'failed' | 'left'

/** One peer of a task's swarm: what it holds, what it received and from where. */
export interface SwarmPeer {
  readonly id: string
  readonly host_id: string
  readonly hostname: string
  readonly ip: string
  readonly type: 'seed' | 'normal'
  readonly state: SwarmPeerState
  readonly finished_pieces: number
  readonly bytes_from_peers: number
  readonly bytes_from_origin: number
  readonly uploaded_bytes: number
  /** Received over the last ~5 s. */
  readonly rate_bytes_per_second: number
  /** Why the peer went to the origin; null when it did not. */
  readonly back_to_source_reason: BackToSourceReason | null
  readonly created_at: string
  readonly updated_at: string
}

/** Bytes and pieces a parent delivered to a child; `active` while the scheduler's DAG edge exists. */
export interface SwarmEdge {
  readonly parent: string
  readonly child: string
  readonly bytes: number
  readonly pieces: number
  readonly active: boolean
}

/** `GET /api/v1/tasks/{task_id}/swarm`: the snapshot of the scheduler that holds the task. */
export interface TaskSwarm {
  readonly task_id: string
  readonly cluster_id: number
  readonly scheduler: { readonly id: number; readonly host_name: string; readonly ip: string }
  readonly url: string
  readonly content_length: number
  readonly piece_length: number
  readonly total_pieces: number
  readonly updated_at: string
  readonly peers: SwarmPeer[]
  readonly edges: SwarmEdge[]
  readonly totals: { readonly bytes_from_peers: number; readonly bytes_from_origin: number; readonly bytes_from_seed_peers: number }
  /** Set when the scheduler held more peers or edges than it sent (the heaviest are sent). */
  readonly truncated?: boolean
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
  // cluster overview and swarm
  '/api/v1/hosts/versions': { get: HostVersion[] }
  '/api/v1/clusters/{id}/overview': { get: ClusterOverview }
  '/api/v1/tasks/{task_id}/swarm': { get: TaskSwarm }
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

// clusters (the overview's types are above)

/** A minute of the cluster overview, as the cluster pages read it. */
export type ClusterOverviewBucket = OverviewBucket

export interface ClusterScopes {
  readonly idc: string
  readonly location: string
  readonly cidrs: string[]
  readonly hostnames: string[]
}

/** A cluster in Dragonfly's JSON: its id is also the scheduler cluster's and the seed peer cluster's. */
export interface Cluster {
  readonly id: number
  readonly name: string
  readonly bio: string
  readonly scopes: ClusterScopes
  readonly scheduler_cluster_id: number
  readonly seed_peer_cluster_id: number
  readonly scheduler_cluster_config: { readonly candidate_parent_limit: number; readonly filter_parent_limit: number; readonly job_rate_limit: number }
  readonly seed_peer_cluster_config: { readonly load_limit: number }
  readonly peer_cluster_config: { readonly load_limit: number }
  readonly blocklist: { readonly applications: string[]; readonly urls: string[]; readonly tags: string[] }
  readonly is_default: boolean
  readonly created_at: string
  readonly updated_at: string
  readonly members: ClusterMembers
}

export type MemberState = 'active' | 'inactive'

/** A scheduler (Dragonfly's `host_name`), with when it last kept alive. */
export interface Scheduler {
  readonly id: number
  readonly host_name: string
  readonly ip: string
  readonly port: number
  readonly idc: string
  readonly location: string
  readonly host_id: string
  readonly state: MemberState
  readonly scheduler_cluster_id: number
  readonly last_keepalive_at: string
  readonly created_at: string
  readonly updated_at: string
}

export interface SeedPeer {
  readonly id: number
  readonly host_name: string
  readonly type: string
  readonly ip: string
  readonly port: number
  readonly idc: string
  readonly location: string
  readonly host_id: string
  readonly state: MemberState
  readonly seed_peer_cluster_id: number
  readonly last_keepalive_at: string
  readonly created_at: string
  readonly updated_at: string
}

/** A daemon or seed peer a scheduler reported. */
export interface Host {
  readonly id: number
  readonly host_id: string
  readonly hostname: string
  readonly ip: string
  readonly port: number
  readonly idc: string
  readonly location: string
  readonly version: string
  readonly os: string
  readonly type: 'normal' | 'seed'
  readonly cluster_id: number
  readonly last_seen: string
  readonly created_at: string
  readonly updated_at: string
}

// Declaration merging: the clusters routes, kept apart from the other areas' entries.
export interface Answers {
  '/api/v1/clusters': { get: Cluster[]; post: Cluster }
  '/api/v1/clusters/{id}': { get: Cluster; patch: Cluster; delete: undefined }
  '/api/v1/schedulers': { get: Scheduler[] }
  '/api/v1/seed-peers': { get: SeedPeer[] }
  '/api/v1/hosts': { get: Host[] }
}
