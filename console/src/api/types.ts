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

// swarm (console-tasks)
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
  readonly back_to_source_reason: string | null
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
  // swarm (console-tasks)
  '/api/v1/tasks/{task_id}/swarm': { get: TaskSwarm }
}

/** Every key of `Answers` is a route of the OpenAPI document. */
export type AnswersAreRoutes = keyof Answers extends keyof paths ? true : never
export const ANSWERS_ARE_ROUTES: AnswersAreRoutes = true
