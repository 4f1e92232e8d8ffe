import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto'
import { DamselflyError } from '../../protocol/damselfly-error.js'

/** scrypt's cost parameters; production keeps the defaults, tests may lower `N` through the init. */
export interface ScryptParameters {
  /** CPU and memory cost, a power of two. */
  readonly N: number
  readonly r: number
  readonly p: number
}

/** About 16 MiB and 50 ms per hash here: slow enough to make guessing expensive, fast enough for sign-ins. */
export const DEFAULT_SCRYPT: ScryptParameters = { N: 16384, r: 8, p: 1 }

const KEY_BYTES = 32
const SALT_BYTES = 16
/** Room for N up to 2^20 with r 8: 1 GiB. */
const MAX_MEMORY_BYTES = 1024 * 1024 * 1024 + 1

function derive(password: string, salt: Buffer, parameters: ScryptParameters): Promise<Buffer> {
  const options: ScryptOptions = { N: parameters.N, r: parameters.r, p: parameters.p, maxmem: MAX_MEMORY_BYTES }
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFKC'), salt, KEY_BYTES, options, (error, key) => {
      if (error === null) resolve(key)
      else reject(new DamselflyError('INTERNAL', `scrypt failed: ${error.message}`, { cause: error }))
    })
  })
}

/**
 * Hashes and checks passwords with scrypt. A hash is `scrypt$N$r$p$salt$key` (base64url), so it
 * carries its own parameters and stays verifiable after the defaults change.
 */
export class PasswordHasher {
  private readonly parameters: ScryptParameters

  constructor(init: { scrypt?: ScryptParameters } = {}) {
    this.parameters = init.scrypt ?? DEFAULT_SCRYPT
  }

  async hash(password: string): Promise<string> {
    const salt = randomBytes(SALT_BYTES)
    const key = await derive(password, salt, this.parameters)
    const { N, r, p } = this.parameters
    return ['scrypt', N, r, p, salt.toString('base64url'), key.toString('base64url')].join('$')
  }

  /** Whether `password` matches `stored`; a malformed hash matches nothing. Takes as long as a real check either way. */
  async verify(password: string, stored: string): Promise<boolean> {
    const parts = stored.split('$')
    const [scheme, n, r, p, salt, key] = parts
    const parameters = { N: Number(n), r: Number(r), p: Number(p) }
    const valid = parts.length === 6 && scheme === 'scrypt' && salt !== undefined && key !== undefined &&
      [parameters.N, parameters.r, parameters.p].every((value) => Number.isSafeInteger(value) && value > 0)
    const expected = valid ? Buffer.from(key, 'base64url') : Buffer.alloc(KEY_BYTES)
    const actual = await derive(password, valid ? Buffer.from(salt, 'base64url') : randomBytes(SALT_BYTES), valid ? parameters : this.parameters)
    return valid && expected.length === actual.length && timingSafeEqual(expected, actual)
  }

  /**
   * Spends the time of one check on nothing, so a sign-in for a user that does not exist takes
   * as long as one with a wrong password and names cannot be told apart by timing.
   */
  async waste(password: string): Promise<void> {
    await derive(password, randomBytes(SALT_BYTES), this.parameters)
  }
}
