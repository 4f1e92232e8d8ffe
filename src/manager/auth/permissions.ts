/** What a permission is about; each names a resource of the REST API. */
export const PERMISSION_OBJECTS = ['cluster', 'scheduler', 'seed_peer', 'host', 'join_token', 'certificate', 'user', 'role', 'personal_access_token', 'audit', 'job'] as const
export type PermissionObject = (typeof PERMISSION_OBJECTS)[number]

/** `write` includes `read`. */
export const PERMISSION_ACTIONS = ['read', 'write'] as const
export type PermissionAction = (typeof PERMISSION_ACTIONS)[number]

export interface Permission {
  readonly object: PermissionObject
  readonly action: PermissionAction
}

/** Scopes a personal access token may carry, and the objects each lets it act on (Dragonfly's `job` and `cluster`). */
export const TOKEN_SCOPES = {
  job: ['job'],
  cluster: ['cluster', 'scheduler', 'seed_peer', 'host'],
} as const satisfies Record<string, readonly PermissionObject[]>
export type TokenScope = keyof typeof TOKEN_SCOPES
export const TOKEN_SCOPE_NAMES = Object.keys(TOKEN_SCOPES) as TokenScope[]

export const ROOT_ROLE = 'root'
export const GUEST_ROLE = 'guest'

/** Every object with every action. */
export function allPermissions(): Permission[] {
  return PERMISSION_OBJECTS.flatMap((object) => PERMISSION_ACTIONS.map((action) => ({ object, action })))
}

/**
 * The roles made at first start and never changed: `root` may do everything; `guest` may read
 * everything but other people's users, roles and tokens (its own profile and tokens are
 * reachable without a permission).
 */
export const BUILTIN_ROLES: ReadonlyArray<{ name: string; description: string; permissions: readonly Permission[] }> = [
  { name: ROOT_ROLE, description: 'every permission', permissions: allPermissions() },
  {
    name: GUEST_ROLE,
    description: 'read clusters, their members, hosts, jobs and the audit log',
    permissions: PERMISSION_OBJECTS.filter((object) => object !== 'user' && object !== 'role' && object !== 'personal_access_token')
      .map((object) => ({ object, action: 'read' as const })),
  },
]

/** Whether `granted` covers `needed`: the same object, and the same action or `write` for a `read`. */
export function grants(granted: readonly Permission[], needed: Permission): boolean {
  return granted.some((permission) => permission.object === needed.object && (permission.action === needed.action || permission.action === 'write'))
}

/** Whether a token with `scopes` may act on `object` at all (its user's roles still decide the action). */
export function scopesAllow(scopes: readonly TokenScope[], object: PermissionObject): boolean {
  return scopes.some((scope) => (TOKEN_SCOPES[scope] as readonly PermissionObject[]).includes(object))
}

export function isPermissionObject(value: string): value is PermissionObject {
  return (PERMISSION_OBJECTS as readonly string[]).includes(value)
}

export function isPermissionAction(value: string): value is PermissionAction {
  return (PERMISSION_ACTIONS as readonly string[]).includes(value)
}
