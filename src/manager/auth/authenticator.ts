import type { Clock } from '../../common/clock.js'
import { DamselflyError } from '../../protocol/damselfly-error.js'
import type { PersonalAccessTokensRepository } from '../db/personal-access-tokens-repository.js'
import type { RolesRepository } from '../db/roles-repository.js'
import type { SessionsRepository } from '../db/sessions-repository.js'
import type { UsersRepository } from '../db/users-repository.js'
import type { Principal } from './principal.js'
import { hashToken, tokenKind } from './secret-token.js'

/**
 * A secret a request presented, and where: a cookie carries a session only; `basic` is HTTP Basic
 * with the token as the password (Harbor's BASIC mode), whatever the user name.
 */
export interface Credential {
  readonly token: string
  readonly from: 'cookie' | 'bearer' | 'basic' | 'query'
}

/**
 * Turns a presented token into a principal, reading the database on every request: several
 * managers share it, and a sign-out, a revoked token or a disabled user must take effect on all
 * of them at once. Throws UNAUTHENTICATED with the reason in one line.
 */
export class Authenticator {
  constructor(private readonly components: {
    users: UsersRepository
    roles: RolesRepository
    sessions: SessionsRepository
    tokens: PersonalAccessTokensRepository
    clock: Clock
  }) {}

  async authenticate(credential: Credential, options: { tokensOnly: boolean }): Promise<Principal> {
    const kind = tokenKind(credential.token)
    const hash = hashToken(credential.token)
    if (kind === 'session' && !options.tokensOnly) {
      const userId = await this.components.sessions.userOf(hash)
      if (userId === undefined) throw new DamselflyError('UNAUTHENTICATED', 'the session has ended or expired; sign in again')
      const user = await this.enabledUser(userId)
      return { kind: 'user', user, permissions: await this.components.roles.permissionsOfUser(user.id), sessionHash: hash, viaCookie: credential.from === 'cookie' }
    }
    if (kind === 'pat' && credential.from !== 'cookie') {
      const token = await this.components.tokens.byHash(hash)
      if (token === undefined) throw new DamselflyError('UNAUTHENTICATED', 'unknown personal access token')
      if (token.state !== 'active') throw new DamselflyError('UNAUTHENTICATED', `personal access token ${token.id} is revoked`)
      if (token.expiresAtMs <= this.components.clock.nowMs()) throw new DamselflyError('UNAUTHENTICATED', `personal access token ${token.id} has expired`)
      const user = await this.enabledUser(token.userId)
      await this.components.tokens.recordUse(token.id)
      return { kind: 'pat', user, permissions: await this.components.roles.permissionsOfUser(user.id), token }
    }
    throw new DamselflyError('UNAUTHENTICATED', options.tokensOnly ? 'the Open API takes a personal access token only' : 'not a session or personal access token')
  }

  private async enabledUser(id: number): Promise<NonNullable<Awaited<ReturnType<UsersRepository['get']>>>> {
    const user = await this.components.users.get(id)
    if (user === undefined) throw new DamselflyError('UNAUTHENTICATED', 'the user no longer exists')
    if (user.state !== 'enable') throw new DamselflyError('UNAUTHENTICATED', `user ${user.name} is disabled`)
    return user
  }
}
