import { z } from 'zod'
import { allPermissions, PERMISSION_ACTIONS, PERMISSION_OBJECTS } from '../auth/permissions.js'
import type { Role, RolesRepository } from '../db/roles-repository.js'
import { toRfc3339 } from './input-schemas.js'
import { defineRoute, permission, type Route } from './route.js'

const permissionBody = z.object({ object: z.enum(PERMISSION_OBJECTS), action: z.enum(PERMISSION_ACTIONS) })
const roleName = z.string().min(1).max(64).regex(/^[a-z0-9][a-z0-9_-]*$/, 'lowercase letters, digits, _ and - after the first')
const roleParams = z.object({ role: z.string().min(1).max(64) })

function roleJson(role: Role): Record<string, unknown> {
  return {
    id: role.id,
    name: role.name,
    description: role.description,
    builtin: role.builtin,
    permissions: role.permissions,
    created_at: toRfc3339(role.createdAtMs),
    updated_at: toRfc3339(role.updatedAtMs),
  }
}

/** Roles and their permissions (Dragonfly's routes; a role is named by its name in paths). */
export function roleRoutes(components: { roles: RolesRepository }): Route[] {
  const { roles } = components
  return [
    defineRoute({
      method: 'POST',
      url: '/api/v1/roles',
      summary: 'Create a role from permissions',
      access: permission('role', 'write'),
      status: 201,
      body: z.object({ role: roleName, description: z.string().max(1024).default(''), permissions: z.array(permissionBody).max(64).default([]) }),
      handler: async ({ body }) => roleJson(await roles.create({ name: body.role, description: body.description, permissions: body.permissions })),
    }),
    defineRoute({
      method: 'GET',
      url: '/api/v1/roles',
      summary: 'List roles with their permissions',
      access: permission('role', 'read'),
      handler: async () => (await roles.list()).map(roleJson),
    }),
    defineRoute({
      method: 'GET',
      url: '/api/v1/roles/:role',
      summary: 'Get a role',
      access: permission('role', 'read'),
      params: roleParams,
      handler: async ({ params }) => roleJson(await roles.getOrThrow(params.role)),
    }),
    defineRoute({
      method: 'DELETE',
      url: '/api/v1/roles/:role',
      summary: 'Delete a custom role and take it from every user',
      access: permission('role', 'write'),
      params: roleParams,
      status: 204,
      handler: async ({ params }) => roles.delete(params.role),
    }),
    defineRoute({
      method: 'POST',
      url: '/api/v1/roles/:role/permissions',
      summary: 'Add a permission to a custom role',
      access: permission('role', 'write'),
      params: roleParams,
      body: permissionBody,
      handler: async ({ params, body }) => roleJson(await roles.addPermission(params.role, body)),
    }),
    defineRoute({
      method: 'DELETE',
      url: '/api/v1/roles/:role/permissions',
      summary: 'Remove a permission from a custom role',
      access: permission('role', 'write'),
      params: roleParams,
      body: permissionBody,
      handler: async ({ params, body }) => roleJson(await roles.removePermission(params.role, body)),
    }),
    defineRoute({
      method: 'GET',
      url: '/api/v1/permissions',
      summary: 'List every permission a role may hold: each object with each action',
      access: permission('role', 'read'),
      handler: () => Promise.resolve(allPermissions()),
    }),
  ]
}
