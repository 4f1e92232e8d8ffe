import type { Clock } from '../../common/clock.js'
import { DamselflyError } from '../../protocol/damselfly-error.js'
import type { SessionsRepository } from '../db/sessions-repository.js'
import type { SigninFailuresRepository } from '../db/signin-failures-repository.js'
import type { User, UsersRepository } from '../db/users-repository.js'
import type { PasswordHasher } from './password-hasher.js'
import { newSecretToken } from './secret-token.js'

/** Failed sign-ins allowed per user name and per client address within the window, before 429. */
export const SIGNIN_LIMIT_DEFAULTS = { maxFailures: 5, windowMs: 5 * 60_000 }

export interface SigninInit {
  readonly sessionTtlMs: number
  readonly maxFailures: number
  readonly windowMs: number
}

/**
 * Password sign-in: a session of `sessionTtlMs` for the right name and password of an enabled
 * user. Failures are counted per name and per client address in the database (so the limit
 * holds across managers), and the count is checked before the password, so a locked-out name
 * gives a guesser no answer at all.
 */
export class SigninService {
  constructor(
    private readonly components: { users: UsersRepository; sessions: SessionsRepository; failures: SigninFailuresRepository; hasher: PasswordHasher; clock: Clock },
    private readonly init: SigninInit,
  ) {}

  /** How long failures count: the longest a caller refused with TOO_MANY_REQUESTS waits. */
  get windowMs(): number {
    return this.init.windowMs
  }

  /** Throws TOO_MANY_REQUESTS past the limit, UNAUTHENTICATED for a wrong name or password or a disabled user. */
  async signin(name: string, password: string, clientIp: string): Promise<{ user: User; token: string; expiresAtMs: number }> {
    const { failures, users, hasher, sessions, clock } = this.components
    const nameKey = `name:${name}`
    const keys = [nameKey, `ip:${clientIp}`]
    const now = clock.nowMs()
    const counts = await failures.countSince(keys, now - this.init.windowMs)
    if (keys.some((key) => (counts.get(key) ?? 0) >= this.init.maxFailures)) {
      throw new DamselflyError('TOO_MANY_REQUESTS', `too many failed sign-ins; try again in ${Math.ceil(this.init.windowMs / 60_000)} minutes`)
    }
    const found = await users.credentialsByName(name)
    const matches = found === undefined ? (await hasher.waste(password), false) : await hasher.verify(password, found.passwordHash)
    if (found === undefined || !matches) {
      await failures.record(keys, now - this.init.windowMs)
      throw new DamselflyError('UNAUTHENTICATED', 'wrong user name or password')
    }
    if (found.user.state !== 'enable') {
      await failures.record(keys, now - this.init.windowMs)
      throw new DamselflyError('UNAUTHENTICATED', `user ${name} is disabled`)
    }
    await failures.clear(nameKey)
    const { token, hash } = newSecretToken('session')
    const expiresAtMs = now + this.init.sessionTtlMs
    await sessions.create(hash, found.user.id, expiresAtMs)
    await users.recordSignin(found.user.id)
    return { user: found.user, token, expiresAtMs }
  }
}
