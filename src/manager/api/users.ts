import { DamselflyError } from '../../protocol/damselfly-error.js'
import type { PasswordHasher } from '../auth/password-hasher.js'
import { ROOT_ROLE, scopesAllow } from '../auth/permissions.js'
import type { RolesRepository } from '../db/roles-repository.js'
import type { SessionsRepository } from '../db/sessions-repository.js'
import type { User, UsersRepository } from '../db/users-repository.js'
import { idParams, toRfc3339 } from './input-schemas.js'
import { sendPage, toPage } from './paging.js'
import { defineRoute, permission, signedIn, type Route } from './route.js'
import { newUserBody, resetPasswordBody, userPatchBody, userRoleParams, usersQuery } from './user-schemas.js'

/** A user as the API shows it (Dragonfly's field names); never a password or its hash. */
export function userJson(user: User): Record<string, unknown> {
  return {
    id: user.id,
    name: user.name,
    email: user.email,
    state: user.state,
    must_change_password: user.mustChangePassword,
    last_signin_at: user.lastSigninAtMs === null ? null : toRfc3339(user.lastSigninAtMs),
    created_at: toRfc3339(user.createdAtMs),
    updated_at: toRfc3339(user.updatedAtMs),
  }
}

interface UserComponents {
  users: UsersRepository
  roles: RolesRepository
  sessions: SessionsRepository
  hasher: PasswordHasher
}

/** Users, their passwords and their roles. A user reaches their own record without `user` permissions. */
export function userRoutes(components: UserComponents): Route[] {
  const { users, roles, sessions, hasher } = components
  const self = (params: { id: number }): Promise<number> => Promise.resolve(params.id)

  /** Refuses to leave the manager without an enabled root: nobody could manage users again. */
  async function keepsARoot(userId: number): Promise<void> {
    const holders = await roles.enabledHolders(ROOT_ROLE)
    if (holders.length === 1 && holders[0] === userId) throw new DamselflyError('PERMISSION_DENIED', 'this is the last enabled user with the root role')
  }

  /** `user` write on another holder of root would be a way to become root: only a root may change a root. */
  async function rootChangesRoot(actorId: number, targetId: number): Promise<void> {
    if (actorId === targetId || !(await roles.rolesOfUser(targetId)).includes(ROOT_ROLE)) return
    if (!(await roles.rolesOfUser(actorId)).includes(ROOT_ROLE)) throw new DamselflyError('PERMISSION_DENIED', 'only a user with the root role may change another root')
  }

  return [
    defineRoute({
      method: 'GET',
      url: '/api/v1/users',
      summary: 'List users',
      access: permission('user', 'read'),
      query: usersQuery,
      handler: async ({ query, request, reply }) => {
        const filter = { ...(query.name === undefined ? {} : { name: query.name }), ...(query.email === undefined ? {} : { email: query.email }), ...(query.state === undefined ? {} : { state: query.state }) }
        return sendPage(request, reply, query, await users.list(filter, toPage(query)), userJson)
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/api/v1/users',
      summary: 'Create a user (with the guest role unless roles are given)',
      access: permission('user', 'write'),
      status: 201,
      body: newUserBody,
      handler: async ({ body }) => {
        for (const role of body.roles) await roles.getOrThrow(role)
        const user = await users.create({ name: body.name, email: body.email ?? '', passwordHash: await hasher.hash(body.password), mustChangePassword: body.must_change_password })
        for (const role of body.roles) await roles.assign(user.id, role)
        return userJson(user)
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/api/v1/users/me',
      summary: 'The caller: their user, roles and permissions (what the console asks first)',
      access: signedIn('user'),
      beforePasswordChange: true,
      handler: async ({ principal }) => {
        if (principal.kind === 'anonymous') throw new DamselflyError('UNAUTHENTICATED', 'sign in first')
        // A token acts only within its scopes: it is shown what it may do, not what its user may.
        const permissions = principal.permissions.filter((granted) => principal.kind === 'user' || scopesAllow(principal.token.scopes, granted.object))
        return { ...userJson(principal.user), roles: await roles.rolesOfUser(principal.user.id), permissions: permissions.map((granted) => ({ object: granted.object, action: granted.action })) }
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/api/v1/users/:id',
      summary: 'Get a user; anyone may get their own',
      access: permission('user', 'read'),
      ownerOf: self,
      params: idParams,
      handler: async ({ params }) => userJson(await users.getOrThrow(params.id)),
    }),
    defineRoute({
      method: 'PATCH',
      url: '/api/v1/users/:id',
      summary: 'Change a user\'s email (anyone their own) or state (enable or disable: a disabled user\'s sessions end)',
      access: permission('user', 'write'),
      ownerOf: self,
      params: idParams,
      body: userPatchBody,
      handler: async ({ params, body, can, principal }) => {
        const current = await users.getOrThrow(params.id)
        if (principal.kind !== 'anonymous') await rootChangesRoot(principal.user.id, params.id)
        if (body.state !== undefined && body.state !== current.state) {
          if (!can('user', 'write')) throw new DamselflyError('PERMISSION_DENIED', 'changing a user\'s state needs write on user')
          if (body.state === 'disable') await keepsARoot(params.id)
        }
        const user = await users.update(params.id, { ...(body.email === undefined ? {} : { email: body.email }), ...(body.state === undefined ? {} : { state: body.state }) })
        if (user.state === 'disable') await sessions.deleteForUser(user.id)
        return userJson(user)
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/api/v1/users/:id/reset_password',
      summary: 'Change one\'s own password (old_password needed), or set another user\'s (who must then change it)',
      access: permission('user', 'write'),
      ownerOf: self,
      beforePasswordChange: true,
      params: idParams,
      status: 204,
      body: resetPasswordBody,
      handler: async ({ params, body, principal }) => {
        const target = await users.credentialsById(params.id)
        if (target === undefined) throw new DamselflyError('NOT_FOUND', `no user ${params.id}`)
        const own = principal.kind === 'user' && principal.user.id === params.id
        if (principal.kind !== 'anonymous') await rootChangesRoot(principal.user.id, params.id)
        if (own) {
          if (body.old_password === undefined) throw new DamselflyError('INVALID_ARGUMENT', 'body.old_password: required to change one\'s own password')
          if (!await hasher.verify(body.old_password, target.passwordHash)) throw new DamselflyError('PERMISSION_DENIED', 'old_password is wrong')
          if (body.old_password === body.new_password) throw new DamselflyError('INVALID_ARGUMENT', 'body.new_password: must differ from the old one')
        }
        await users.setPassword(params.id, await hasher.hash(body.new_password), !own)
        // Whoever held the old password keeps no session: only the one changing it stays signed in.
        await sessions.deleteForUser(params.id, own ? principal.sessionHash : undefined)
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/api/v1/users/:id/roles',
      summary: 'List the names of a user\'s roles; anyone may list their own',
      access: permission('user', 'read'),
      ownerOf: self,
      params: idParams,
      handler: async ({ params }) => {
        await users.getOrThrow(params.id)
        return roles.rolesOfUser(params.id)
      },
    }),
    defineRoute({
      method: 'PUT',
      url: '/api/v1/users/:id/roles/:role',
      summary: 'Give a user a role',
      access: permission('role', 'write'),
      params: userRoleParams,
      status: 204,
      handler: async ({ params, principal }) => {
        await users.getOrThrow(params.id)
        if (params.role === ROOT_ROLE && (principal.kind === 'anonymous' || !(await roles.rolesOfUser(principal.user.id)).includes(ROOT_ROLE))) {
          throw new DamselflyError('PERMISSION_DENIED', 'only a user with the root role may give it')
        }
        await roles.assign(params.id, params.role)
      },
    }),
    defineRoute({
      method: 'DELETE',
      url: '/api/v1/users/:id/roles/:role',
      summary: 'Take a role from a user (never root from the last enabled root)',
      access: permission('role', 'write'),
      params: userRoleParams,
      status: 204,
      handler: async ({ params }) => {
        await users.getOrThrow(params.id)
        await roles.getOrThrow(params.role)
        if (params.role === ROOT_ROLE) await keepsARoot(params.id)
        await roles.unassign(params.id, params.role)
      },
    }),
  ]
}
