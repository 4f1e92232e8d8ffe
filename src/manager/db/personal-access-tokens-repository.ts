import { z } from 'zod'
import type { Clock } from '../../common/clock.js'
import { DamselflyError } from '../../protocol/damselfly-error.js'
import { TOKEN_SCOPE_NAMES, type TokenScope } from '../auth/permissions.js'
import type { ManagerDatabase } from './database.js'
import { insertReturningId, isUniqueViolation } from './insert.js'
import type { Page, Paged } from './page.js'
import type { PersonalAccessTokenRow } from './schema.js'
import type { TokenState } from './token-states.js'

const scopesColumn = z.array(z.enum(TOKEN_SCOPE_NAMES as [TokenScope, ...TokenScope[]]))

/** A personal access token as the API shows it: never the token, nor its hash. */
export interface PersonalAccessToken {
  readonly id: number
  readonly name: string
  readonly bio: string
  readonly scopes: TokenScope[]
  readonly state: TokenState
  readonly expiresAtMs: number
  readonly userId: number
  readonly lastUsedAtMs: number | null
  readonly createdAtMs: number
  readonly updatedAtMs: number
}

function toToken(row: PersonalAccessTokenRow): PersonalAccessToken {
  return {
    id: row.id,
    name: row.name,
    bio: row.bio,
    scopes: scopesColumn.parse(JSON.parse(row.scopes)),
    state: row.state === 'active' ? 'active' : 'inactive',
    expiresAtMs: row.expires_at_ms,
    userId: row.user_id,
    lastUsedAtMs: row.last_used_at_ms,
    createdAtMs: row.created_at_ms,
    updatedAtMs: row.updated_at_ms,
  }
}

/** Personal access tokens, kept as sha256 only. */
export class PersonalAccessTokensRepository {
  constructor(private readonly components: { database: ManagerDatabase; clock: Clock }) {}

  private get db(): ManagerDatabase['db'] {
    return this.components.database.db
  }

  async create(input: { name: string; bio: string; scopes: readonly TokenScope[]; expiresAtMs: number; userId: number; tokenHash: string }): Promise<PersonalAccessToken> {
    const now = this.components.clock.nowMs()
    try {
      const id = await insertReturningId(this.components.database, 'personal_access_tokens', {
        name: input.name,
        bio: input.bio,
        token_hash: input.tokenHash,
        scopes: JSON.stringify([...new Set(input.scopes)]),
        state: 'active',
        expires_at_ms: input.expiresAtMs,
        user_id: input.userId,
        last_used_at_ms: null,
        created_at_ms: now,
        updated_at_ms: now,
      })
      return await this.getOrThrow(id)
    } catch (error) {
      if (isUniqueViolation(error)) throw new DamselflyError('INTERNAL', 'a token collided with another', { cause: error })
      throw error
    }
  }

  async get(id: number): Promise<PersonalAccessToken | undefined> {
    const row = await this.db.selectFrom('personal_access_tokens').selectAll().where('id', '=', id).executeTakeFirst()
    return row === undefined ? undefined : toToken(row)
  }

  async getOrThrow(id: number): Promise<PersonalAccessToken> {
    const token = await this.get(id)
    if (token === undefined) throw new DamselflyError('NOT_FOUND', `no personal access token ${id}`)
    return token
  }

  /** The token a presented secret hashes to, whatever its state: the caller checks state and expiry. */
  async byHash(tokenHash: string): Promise<PersonalAccessToken | undefined> {
    const row = await this.db.selectFrom('personal_access_tokens').selectAll().where('token_hash', '=', tokenHash).executeTakeFirst()
    return row === undefined ? undefined : toToken(row)
  }

  async list(filter: { userId?: number; state?: TokenState }, page: Page): Promise<Paged<PersonalAccessToken>> {
    let query = this.db.selectFrom('personal_access_tokens')
    if (filter.userId !== undefined) query = query.where('user_id', '=', filter.userId)
    if (filter.state !== undefined) query = query.where('state', '=', filter.state)
    const rows = await query.selectAll().orderBy('id').offset(page.offset).limit(page.limit).execute()
    const { total } = await query.select((eb) => eb.fn.countAll<number | string>().as('total')).executeTakeFirstOrThrow()
    return { items: rows.map(toToken), total: Number(total) }
  }

  async update(id: number, patch: { name?: string; bio?: string; scopes?: readonly TokenScope[]; state?: TokenState; expiresAtMs?: number }): Promise<PersonalAccessToken> {
    const current = await this.getOrThrow(id)
    await this.db.updateTable('personal_access_tokens').set({
      name: patch.name ?? current.name,
      bio: patch.bio ?? current.bio,
      scopes: JSON.stringify([...new Set(patch.scopes ?? current.scopes)]),
      state: patch.state ?? current.state,
      expires_at_ms: patch.expiresAtMs ?? current.expiresAtMs,
      updated_at_ms: this.components.clock.nowMs(),
    }).where('id', '=', id).execute()
    return this.getOrThrow(id)
  }

  async delete(id: number): Promise<void> {
    await this.getOrThrow(id)
    await this.db.deleteFrom('personal_access_tokens').where('id', '=', id).execute()
  }

  async recordUse(id: number): Promise<void> {
    await this.db.updateTable('personal_access_tokens').set({ last_used_at_ms: this.components.clock.nowMs() }).where('id', '=', id).execute()
  }
}
