import type { Clock } from '../../common/clock.js'
import { DamselflyError } from '../../protocol/damselfly-error.js'
import { BUILTIN_ROLES, isPermissionAction, isPermissionObject, type Permission } from '../auth/permissions.js'
import type { ManagerDatabase } from './database.js'
import { insertReturningId, isUniqueViolation } from './insert.js'
import type { RoleRow } from './schema.js'

export interface Role {
  readonly id: number
  readonly name: string
  readonly description: string
  readonly builtin: boolean
  readonly permissions: Permission[]
  readonly createdAtMs: number
  readonly updatedAtMs: number
}

/** Rows naming an object or action this version no longer knows are left out rather than trusted. */
function toPermissions(rows: ReadonlyArray<{ object: string; action: string }>): Permission[] {
  return rows.flatMap(({ object, action }) => isPermissionObject(object) && isPermissionAction(action) ? [{ object, action }] : [])
}

/** Roles, their permissions and who holds them. Built-in roles cannot be changed or deleted. */
export class RolesRepository {
  constructor(private readonly components: { database: ManagerDatabase; clock: Clock }) {}

  private get db(): ManagerDatabase['db'] {
    return this.components.database.db
  }

  /** Makes `root` and `guest` unless they exist. Safe with several managers starting at once. */
  async ensureBuiltin(): Promise<void> {
    for (const role of BUILTIN_ROLES) {
      if (await this.get(role.name) !== undefined) continue
      try {
        await this.create({ name: role.name, description: role.description, permissions: role.permissions }, true)
      } catch (error) {
        if (!(error instanceof DamselflyError && error.code === 'ALREADY_EXISTS')) throw error
      }
    }
  }

  /** Throws ALREADY_EXISTS when the name is taken. */
  async create(input: { name: string; description?: string; permissions: readonly Permission[] }, builtin = false): Promise<Role> {
    const now = this.components.clock.nowMs()
    try {
      await this.db.transaction().execute(async (trx) => {
        const id = await insertReturningId({ ...this.components.database, db: trx }, 'roles', {
          name: input.name, description: input.description ?? '', builtin: builtin ? 1 : 0, created_at_ms: now, updated_at_ms: now,
        })
        const unique = new Map(input.permissions.map((p) => [`${p.object}:${p.action}`, p]))
        if (unique.size > 0) await trx.insertInto('role_permissions').values([...unique.values()].map((p) => ({ role_id: id, object: p.object, action: p.action }))).execute()
      })
    } catch (error) {
      if (isUniqueViolation(error)) throw new DamselflyError('ALREADY_EXISTS', `a role named ${JSON.stringify(input.name)} already exists`, { cause: error })
      throw error
    }
    return this.getOrThrow(input.name)
  }

  async get(name: string): Promise<Role | undefined> {
    const row = await this.db.selectFrom('roles').selectAll().where('name', '=', name).executeTakeFirst()
    return row === undefined ? undefined : this.withPermissions(row)
  }

  async getOrThrow(name: string): Promise<Role> {
    const role = await this.get(name)
    if (role === undefined) throw new DamselflyError('NOT_FOUND', `no role ${JSON.stringify(name)}`)
    return role
  }

  async list(): Promise<Role[]> {
    const rows = await this.db.selectFrom('roles').selectAll().orderBy('id').execute()
    return Promise.all(rows.map((row) => this.withPermissions(row)))
  }

  /** Deletes a custom role and takes it from everyone who held it. */
  async delete(name: string): Promise<void> {
    const role = await this.changeable(name)
    await this.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('user_roles').where('role_id', '=', role.id).execute()
      await trx.deleteFrom('role_permissions').where('role_id', '=', role.id).execute()
      await trx.deleteFrom('roles').where('id', '=', role.id).execute()
    })
  }

  /** Adds a permission to a custom role; adding one it has changes nothing. */
  async addPermission(name: string, permission: Permission): Promise<Role> {
    const role = await this.changeable(name)
    if (!role.permissions.some((p) => p.object === permission.object && p.action === permission.action)) {
      try {
        await this.db.insertInto('role_permissions').values({ role_id: role.id, object: permission.object, action: permission.action }).execute()
      } catch (error) {
        // Another manager added the same permission meanwhile: the outcome is the one asked for.
        if (!isUniqueViolation(error)) throw error
      }
    }
    await this.touch(role.id)
    return this.getOrThrow(name)
  }

  async removePermission(name: string, permission: Permission): Promise<Role> {
    const role = await this.changeable(name)
    await this.db.deleteFrom('role_permissions').where('role_id', '=', role.id).where('object', '=', permission.object).where('action', '=', permission.action).execute()
    await this.touch(role.id)
    return this.getOrThrow(name)
  }

  async rolesOfUser(userId: number): Promise<string[]> {
    const rows = await this.db.selectFrom('user_roles').innerJoin('roles', 'roles.id', 'user_roles.role_id')
      .select('roles.name').where('user_roles.user_id', '=', userId).orderBy('roles.name').execute()
    return rows.map((row) => row.name)
  }

  /** Every permission of every role the user holds. */
  async permissionsOfUser(userId: number): Promise<Permission[]> {
    const rows = await this.db.selectFrom('user_roles').innerJoin('role_permissions', 'role_permissions.role_id', 'user_roles.role_id')
      .select(['role_permissions.object', 'role_permissions.action']).where('user_roles.user_id', '=', userId).execute()
    return toPermissions(rows)
  }

  /** Gives a user a role; giving one they hold changes nothing. */
  async assign(userId: number, name: string): Promise<void> {
    const role = await this.getOrThrow(name)
    try {
      await this.db.insertInto('user_roles').values({ user_id: userId, role_id: role.id }).execute()
    } catch (error) {
      if (!isUniqueViolation(error)) throw error
    }
  }

  async unassign(userId: number, name: string): Promise<void> {
    const role = await this.getOrThrow(name)
    await this.db.deleteFrom('user_roles').where('user_id', '=', userId).where('role_id', '=', role.id).execute()
  }

  /** How many enabled users hold the role, so the last root is never locked out. */
  async enabledHolders(name: string): Promise<number[]> {
    const rows = await this.db.selectFrom('user_roles').innerJoin('roles', 'roles.id', 'user_roles.role_id').innerJoin('users', 'users.id', 'user_roles.user_id')
      .select('users.id').where('roles.name', '=', name).where('users.state', '=', 'enable').execute()
    return rows.map((row) => row.id)
  }

  private async changeable(name: string): Promise<Role> {
    const role = await this.getOrThrow(name)
    if (role.builtin) throw new DamselflyError('PERMISSION_DENIED', `the built-in role ${name} cannot be changed`)
    return role
  }

  private async touch(id: number): Promise<void> {
    await this.db.updateTable('roles').set({ updated_at_ms: this.components.clock.nowMs() }).where('id', '=', id).execute()
  }

  private async withPermissions(row: RoleRow): Promise<Role> {
    const rows = await this.db.selectFrom('role_permissions').select(['object', 'action']).where('role_id', '=', row.id).orderBy('object').orderBy('action').execute()
    return {
      id: row.id,
      name: row.name,
      description: row.description,
      builtin: row.builtin === 1,
      permissions: toPermissions(rows),
      createdAtMs: row.created_at_ms,
      updatedAtMs: row.updated_at_ms,
    }
  }
}
