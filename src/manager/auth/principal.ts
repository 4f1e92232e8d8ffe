import type { PersonalAccessToken } from '../db/personal-access-tokens-repository.js'
import type { User } from '../db/users-repository.js'
import { grants, scopesAllow, type Permission, type PermissionAction, type PermissionObject } from './permissions.js'

/**
 * Who a request comes from. A personal access token acts as its user, but only on the objects
 * its scopes name. `sessionHash` and `viaCookie` say how a user proved who they are.
 */
export type Principal =
  | { readonly kind: 'anonymous' }
  | { readonly kind: 'user'; readonly user: User; readonly permissions: readonly Permission[]; readonly sessionHash: string; readonly viaCookie: boolean }
  | { readonly kind: 'pat'; readonly user: User; readonly permissions: readonly Permission[]; readonly token: PersonalAccessToken }

export const ANONYMOUS: Principal = { kind: 'anonymous' }

/** Whether the principal may take `action` on `object`: through its roles, and for a token also its scopes. */
export function principalCan(principal: Principal, object: PermissionObject, action: PermissionAction): boolean {
  switch (principal.kind) {
    case 'anonymous':
      return false
    case 'user':
      return grants(principal.permissions, { object, action })
    case 'pat':
      return scopesAllow(principal.token.scopes, object) && grants(principal.permissions, { object, action })
  }
}
