import { randomBytes } from 'node:crypto'
import type { Logger } from '../../common/logger.js'
import { DamselflyError } from '../../protocol/damselfly-error.js'
import type { RolesRepository } from '../db/roles-repository.js'
import type { UsersRepository } from '../db/users-repository.js'
import type { PasswordHasher } from './password-hasher.js'
import { ROOT_ROLE } from './permissions.js'

export const ROOT_USER = 'root'

/**
 * First start: makes the built-in roles and, when there is no user at all, `root` with
 * `rootPassword`, or else a random password handed to `printSecret` once (the terminal, never
 * the log) that must be changed at first sign-in. The password itself is never logged. Safe with
 * several managers starting at once: only the one that created `root` prints its password.
 */
export async function bootstrapRoot(
  components: { users: UsersRepository; roles: RolesRepository; hasher: PasswordHasher; logger: Logger; printSecret: (line: string) => void },
  init: { rootPassword: string },
): Promise<'created' | 'exists'> {
  const { users, roles, hasher, logger } = components
  await roles.ensureBuiltin()
  if (await users.count() > 0) return 'exists'
  const random = init.rootPassword === ''
  const password = random ? randomBytes(18).toString('base64url') : init.rootPassword
  let created
  try {
    created = await users.create({ name: ROOT_USER, passwordHash: await hasher.hash(password), mustChangePassword: random })
  } catch (error) {
    if (error instanceof DamselflyError && error.code === 'ALREADY_EXISTS') return 'exists'
    throw error
  }
  await roles.assign(created.id, ROOT_ROLE)
  logger.info({ user: ROOT_USER, passwordFrom: random ? 'random' : 'configuration', mustChangePassword: random }, 'root user created')
  if (random) components.printSecret(`damselfly manager: user root, password ${password} (shown once; it must be changed at first sign-in)\n`)
  return 'created'
}
