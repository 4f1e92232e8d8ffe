import type { Generated, Insertable, Selectable, Updateable } from 'kysely'

/**
 * The manager's tables, as Kysely sees them. Portable across SQLite, PostgreSQL and MySQL:
 * times are epoch milliseconds in BIGINT columns (`..._at_ms`), flags are 0/1 integers, lists
 * and objects are JSON text parsed at the repository boundary, names are VARCHAR(255).
 */
export interface ManagerSchema {
  clusters: ClustersTable
  schedulers: SchedulersTable
  seed_peers: SeedPeersTable
  hosts: HostsTable
  users: UsersTable
  roles: RolesTable
  role_permissions: RolePermissionsTable
  user_roles: UserRolesTable
  sessions: SessionsTable
  personal_access_tokens: PersonalAccessTokensTable
  audits: AuditsTable
  cluster_ca: ClusterCaTable
  join_tokens: JoinTokensTable
  certificates: CertificatesTable
  signin_failures: SigninFailuresTable
  jobs: JobsTable
  job_hosts: JobHostsTable
  secret_keys: SecretKeysTable
}

/**
 * A cluster: Dragonfly's scheduler cluster and seed peer cluster as one row, so its id is both
 * the `scheduler_cluster_id` and the `seed_peer_cluster_id` a Dragonfly user scripts against.
 */
export interface ClustersTable {
  id: Generated<number>
  name: string
  bio: string
  /** JSON: `{ idc, location, cidrs[], hostnames[] }`. */
  scopes: string
  /** JSON: the scheduler cluster's, seed peer cluster's and peer cluster's configuration. */
  config: string
  is_default: number
  created_at_ms: number
  updated_at_ms: number
}

/** A member (scheduler or seed peer) is `active` while it keeps alive, `inactive` after it missed its keepalives. */
export type MemberState = 'active' | 'inactive'

export interface SchedulersTable {
  id: Generated<number>
  cluster_id: number
  hostname: string
  ip: string
  port: number
  idc: string
  location: string
  /** JSON list of feature names. */
  features: string
  host_id: string
  state: MemberState
  last_keepalive_at_ms: number
  created_at_ms: number
  updated_at_ms: number
}

export interface SeedPeersTable {
  id: Generated<number>
  cluster_id: number
  hostname: string
  ip: string
  /** The seed peer's piece upload port. */
  port: number
  /** Dragonfly's seed peer type: `super`, `strong` or `weak`. */
  type: string
  idc: string
  location: string
  host_id: string
  state: MemberState
  last_keepalive_at_ms: number
  created_at_ms: number
  updated_at_ms: number
}

/** Every host a scheduler reports: daemons and seed peers alike. */
export interface HostsTable {
  id: Generated<number>
  host_id: string
  cluster_id: number
  hostname: string
  ip: string
  port: number
  idc: string
  location: string
  version: string
  os: string
  /** `normal` or `seed`. */
  type: string
  last_seen_at_ms: number
  created_at_ms: number
  updated_at_ms: number
}

export interface UsersTable {
  id: Generated<number>
  name: string
  email: string
  /** scrypt, with its parameters and salt: `scrypt$N$r$p$salt$hash`. Never the password. */
  password_hash: string
  /** `enable` or `disable`, Dragonfly's words. */
  state: string
  must_change_password: number
  last_signin_at_ms: number | null
  created_at_ms: number
  updated_at_ms: number
}

export interface RolesTable {
  id: Generated<number>
  name: string
  description: string
  /** `root` and `guest` are built in and cannot be changed or deleted. */
  builtin: number
  created_at_ms: number
  updated_at_ms: number
}

/** A permission is an action on an object (`cluster`, `user`, ...): `read` or `write` (`write` includes `read`). */
export interface RolePermissionsTable {
  role_id: number
  object: string
  action: string
}

export interface UserRolesTable {
  user_id: number
  role_id: number
}

export interface SessionsTable {
  /** sha256 hex of the session token; the token itself is never stored. */
  id: string
  user_id: number
  expires_at_ms: number
  created_at_ms: number
}

export interface PersonalAccessTokensTable {
  id: Generated<number>
  name: string
  bio: string
  /** sha256 hex of the token; the token is shown once, at creation. */
  token_hash: string
  /** JSON list of scopes: `job`, `cluster`. */
  scopes: string
  state: string
  expires_at_ms: number
  user_id: number
  last_used_at_ms: number | null
  created_at_ms: number
  updated_at_ms: number
}

/** One change someone asked for, and how it ended. Never a secret: no bodies, no tokens. */
export interface AuditsTable {
  id: Generated<number>
  /** `user`, `pat`, `anonymous` or `system`. */
  actor_type: string
  actor_name: string
  method: string
  path: string
  /** The object of the route's permission (`cluster`, `user`, ...). */
  object: string
  /** `success` or `failure`. */
  state: string
  status_code: number
  created_at_ms: number
}

/** The one cluster CA (row id 1). Whoever reads `key_pem` can mint any identity: guard the database as the CA. */
export interface ClusterCaTable {
  id: number
  cert_pem: string
  key_pem: string
  created_at_ms: number
}

export interface JoinTokensTable {
  /** The token's public id: `dfj1.<id>.<secret>.<pin>`. */
  id: string
  /** sha256 hex of the secret; the secret is shown once, at creation. */
  secret_sha256: string
  role: string
  cluster_id: number
  /** null: any number of joins until it expires. */
  uses_left: number | null
  expires_at_ms: number
  created_by: string
  created_at_ms: number
}

/** The latest certificate the manager issued each host, and whether the host is revoked. */
export interface CertificatesTable {
  host_id: string
  role: string
  cluster_id: number
  hostname: string
  /** JSON list of the addresses the certificate binds. */
  ips: string
  not_after_ms: number
  issued_at_ms: number
  revoked_at_ms: number | null
  revoked_by: string | null
}

/**
 * One failed sign-in, counted per key (`name:<user name>` and `ip:<client address>`) so the limit
 * holds across managers sharing the database. Rows older than the window are pruned as new ones come.
 */
export interface SigninFailuresTable {
  id: Generated<number>
  key: string
  created_at_ms: number
}

/** Dragonfly's job states: the only three Harbor understands. */
export type JobState = 'PENDING' | 'SUCCESS' | 'FAILURE'

/** Where a PENDING job is; a finished one is `done`. */
export type JobPhase = 'scheduled' | 'queued' | 'running' | 'done'

/** One job; its per-host rows are in `job_hosts`. */
export interface JobsTable {
  id: Generated<number>
  /** `preheat`, `distribution`, `get_task` or `delete_task`. */
  type: string
  state: JobState
  phase: JobPhase
  /** Dragonfly's `task_id` of a job: `group_<uuid>`. */
  group_id: string
  bio: string
  /** JSON: the job's arguments as answered (credentials blanked). */
  args: string
  /** The job's credentials (password, headers), sealed with the `jobs` secret key; null when it has none. */
  secrets: string | null
  /** JSON list of cluster ids. */
  cluster_ids: string
  /** JSON result of a get_task or delete_task job; download jobs build theirs from `job_hosts`. */
  result: string | null
  /** Why the job failed as a whole (image resolution, no scheduler, stopped); null otherwise. */
  error: string | null
  user_id: number | null
  user_name: string
  copied_from: number | null
  /** How many times it was started: 1 for the first run, more after reruns and take-overs. */
  run_count: number
  stop_requested_by: string | null
  scheduled_at_ms: number | null
  started_at_ms: number | null
  finished_at_ms: number | null
  created_at_ms: number
  updated_at_ms: number
}

/** Host row states. */
export type JobHostState = 'PENDING' | 'RUNNING' | 'SUCCESS' | 'FAILURE'

/** One host's download of one of a job's URLs: progress while it runs, then its outcome. */
export interface JobHostsTable {
  id: Generated<number>
  job_id: number
  cluster_id: number
  host_key: string
  hostname: string
  ip: string
  seed: number
  url: string
  url_index: number
  task_id: string
  state: JobHostState
  completed_bytes: number
  content_length: number
  finished_pieces: number
  total_pieces: number
  bytes_per_second: number
  /** The error code of a failure; '' otherwise. */
  code: string
  description: string
  cost_ms: number
  created_at_ms: number
  updated_at_ms: number
}

/** Keys the managers share through the database (`jobs`: seals job credentials). */
export interface SecretKeysTable {
  name: string
  key_base64: string
  created_at_ms: number
}

export type ClusterRow = Selectable<ClustersTable>
export type NewCluster = Insertable<ClustersTable>
export type ClusterUpdate = Updateable<ClustersTable>
export type SchedulerRow = Selectable<SchedulersTable>
export type SeedPeerRow = Selectable<SeedPeersTable>
export type HostRow = Selectable<HostsTable>
export type UserRow = Selectable<UsersTable>
export type RoleRow = Selectable<RolesTable>
export type PersonalAccessTokenRow = Selectable<PersonalAccessTokensTable>
export type AuditRow = Selectable<AuditsTable>
export type JobRow = Selectable<JobsTable>
export type JobHostRow = Selectable<JobHostsTable>
