import type { Clock } from '../../common/clock.js'
import { DamselflyError } from '../../protocol/damselfly-error.js'
import type { ManagerDatabase } from './database.js'
import { insertReturningId, isUniqueViolation } from './insert.js'
import type { Page, Paged } from './page.js'
import type { UserRow } from './schema.js'
import type { UserState } from './user-states.js'

/** A user as the API shows it: never the password hash. */
export interface User {
  readonly id: number
  readonly name: string
  readonly email: string
  readonly state: UserState
  readonly mustChangePassword: boolean
  readonly lastSigninAtMs: number | null
  readonly createdAtMs: number
  readonly updatedAtMs: number
}

function toUser(row: UserRow): User {
  return {
    id: row.id,
    name: row.name,
    email: row.email,
    state: row.state === 'enable' ? 'enable' : 'disable',
    mustChangePassword: row.must_change_password === 1,
    lastSigninAtMs: row.last_signin_at_ms,
    createdAtMs: row.created_at_ms,
    updatedAtMs: row.updated_at_ms,
  }
}

/** Users in the database. Password hashes go in and come out only through the credential methods. */
export class UsersRepository {
  constructor(private readonly components: { database: ManagerDatabase; clock: Clock }) {}

  private get db(): ManagerDatabase['db'] {
    return this.components.database.db
  }

  /** Throws ALREADY_EXISTS when the name is taken. */
  async create(input: { name: string; email?: string; passwordHash: string; mustChangePassword?: boolean }): Promise<User> {
    const now = this.components.clock.nowMs()
    try {
      const id = await insertReturningId(this.components.database, 'users', {
        name: input.name,
        email: input.email ?? '',
        password_hash: input.passwordHash,
        state: 'enable',
        must_change_password: input.mustChangePassword === true ? 1 : 0,
        last_signin_at_ms: null,
        created_at_ms: now,
        updated_at_ms: now,
      })
      return await this.getOrThrow(id)
    } catch (error) {
      if (isUniqueViolation(error)) throw new DamselflyError('ALREADY_EXISTS', `a user named ${JSON.stringify(input.name)} already exists`, { cause: error })
      throw error
    }
  }

  async count(): Promise<number> {
    const { total } = await this.db.selectFrom('users').select((eb) => eb.fn.countAll<number | string>().as('total')).executeTakeFirstOrThrow()
    return Number(total)
  }

  async get(id: number): Promise<User | undefined> {
    const row = await this.db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst()
    return row === undefined ? undefined : toUser(row)
  }

  async getOrThrow(id: number): Promise<User> {
    const user = await this.get(id)
    if (user === undefined) throw new DamselflyError('NOT_FOUND', `no user ${id}`)
    return user
  }

  /** The user and their password hash, for a sign-in or a password change only. */
  async credentialsByName(name: string): Promise<{ user: User; passwordHash: string } | undefined> {
    const row = await this.db.selectFrom('users').selectAll().where('name', '=', name).executeTakeFirst()
    return row === undefined ? undefined : { user: toUser(row), passwordHash: row.password_hash }
  }

  async credentialsById(id: number): Promise<{ user: User; passwordHash: string } | undefined> {
    const row = await this.db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst()
    return row === undefined ? undefined : { user: toUser(row), passwordHash: row.password_hash }
  }

  async list(filter: { name?: string; email?: string; state?: UserState }, page: Page): Promise<Paged<User>> {
    let query = this.db.selectFrom('users')
    if (filter.name !== undefined) query = query.where('name', '=', filter.name)
    if (filter.email !== undefined) query = query.where('email', '=', filter.email)
    if (filter.state !== undefined) query = query.where('state', '=', filter.state)
    const rows = await query.selectAll().orderBy('id').offset(page.offset).limit(page.limit).execute()
    const { total } = await query.select((eb) => eb.fn.countAll<number | string>().as('total')).executeTakeFirstOrThrow()
    return { items: rows.map(toUser), total: Number(total) }
  }

  async update(id: number, patch: { email?: string; state?: UserState }): Promise<User> {
    const current = await this.getOrThrow(id)
    await this.db.updateTable('users').set({
      email: patch.email ?? current.email,
      state: patch.state ?? current.state,
      updated_at_ms: this.components.clock.nowMs(),
    }).where('id', '=', id).execute()
    return this.getOrThrow(id)
  }

  async setPassword(id: number, passwordHash: string, mustChangePassword: boolean): Promise<void> {
    await this.db.updateTable('users').set({
      password_hash: passwordHash,
      must_change_password: mustChangePassword ? 1 : 0,
      updated_at_ms: this.components.clock.nowMs(),
    }).where('id', '=', id).execute()
  }

  async recordSignin(id: number): Promise<void> {
    await this.db.updateTable('users').set({ last_signin_at_ms: this.components.clock.nowMs() }).where('id', '=', id).execute()
  }
}
