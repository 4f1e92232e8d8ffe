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

// clusters (console-clusters)

/** `members` of a cluster: active by keepalive; hosts are every host the cluster's schedulers reported. */
export interface ClusterMembers {
  readonly active_schedulers: number
  readonly active_seed_peers: number
  readonly hosts: number
}

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

/** `GET /api/v1/hosts/versions`: most common first. */
export interface HostVersion {
  readonly version: string
  readonly count: number
}

/** One minute of a cluster's traffic, summed over its schedulers. */
export interface ClusterOverviewBucket {
  /** The minute's start. */
  readonly at: string
  readonly bytes_from_peers: number
  readonly bytes_from_origin: number
  readonly tasks_started: number
  readonly tasks_finished: number
  readonly back_to_source: number
}

/** `GET /api/v1/clusters/{id}/overview`: the last hour, from the schedulers that answered. */
export interface ClusterOverview {
  readonly cluster_id: number
  readonly window: { readonly from: string; readonly to: string; readonly bucket_seconds: number }
  readonly schedulers: { readonly asked: number; readonly answered: number }
  readonly totals: {
    readonly bytes_from_peers: number
    readonly bytes_from_origin: number
    readonly bytes_from_seed_peers: number
    readonly tasks_started: number
    readonly tasks_finished: number
    readonly peers_started: number
    readonly peers_finished: number
    readonly peers_failed: number
    readonly back_to_source: number
    readonly back_to_source_reasons: readonly { readonly reason: string; readonly count: number }[]
  }
  /** 60 minutes, oldest first, empty ones included. */
  readonly buckets: readonly ClusterOverviewBucket[]
}

// Declaration merging: the clusters routes, kept apart from the other areas' entries.
export interface Answers {
  '/api/v1/clusters': { get: Cluster[]; post: Cluster }
  '/api/v1/clusters/{id}': { get: Cluster; patch: Cluster; delete: undefined }
  '/api/v1/clusters/{id}/overview': { get: ClusterOverview }
  '/api/v1/schedulers': { get: Scheduler[] }
  '/api/v1/seed-peers': { get: SeedPeer[] }
  '/api/v1/hosts': { get: Host[] }
  '/api/v1/hosts/versions': { get: HostVersion[] }
}
