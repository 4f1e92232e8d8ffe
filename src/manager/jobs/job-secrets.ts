import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto'
import type { Clock } from '../../common/clock.js'
import { DamselflyError } from '../../protocol/damselfly-error.js'
import type { ManagerDatabase } from '../db/database.js'
import { isUniqueViolation } from '../db/insert.js'
import type { JobCredentials } from './job-args.js'


export const NO_CREDENTIALS: JobCredentials = { headers: {}, username: '', password: '' }

const KEY_NAME = 'jobs'
const IV_BYTES = 12
const TAG_BYTES = 16
/** The format's version, first in every sealed value, so the format can change. */
const VERSION = 'v1'

/**
 * Seals job credentials with AES-256-GCM under a key the managers share through the database
 * (made by whichever manager needs it first). A copy of the jobs table, the job queue in Redis
 * or a log shows none of them; whoever reads the whole database can open them, as they could
 * read the cluster CA's key: guard the database accordingly.
 */
export class JobSecrets {
  private key: Promise<Buffer> | undefined

  constructor(private readonly components: { database: ManagerDatabase; clock: Clock }) {}

  /** undefined for a job without credentials. */
  async seal(credentials: JobCredentials): Promise<string | undefined> {
    if (Object.keys(credentials.headers).length === 0 && credentials.username === '' && credentials.password === '') return undefined
    const key = await this.loadKey()
    const iv = randomBytes(IV_BYTES)
    const cipher = createCipheriv('aes-256-gcm', key, iv)
    const sealed = Buffer.concat([cipher.update(JSON.stringify(credentials), 'utf8'), cipher.final()])
    return `${VERSION}.${Buffer.concat([iv, cipher.getAuthTag(), sealed]).toString('base64')}`
  }

  async open(sealed: string | undefined): Promise<JobCredentials> {
    if (sealed === undefined) return NO_CREDENTIALS
    const [version, body] = sealed.split('.', 2)
    if (version !== VERSION || body === undefined) throw new DamselflyError('INTERNAL', 'a job\'s sealed credentials are in an unknown format')
    const bytes = Buffer.from(body, 'base64')
    const decipher = createDecipheriv('aes-256-gcm', await this.loadKey(), bytes.subarray(0, IV_BYTES))
    decipher.setAuthTag(bytes.subarray(IV_BYTES, IV_BYTES + TAG_BYTES))
    try {
      const text = Buffer.concat([decipher.update(bytes.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8')
      return JSON.parse(text) as JobCredentials
    } catch (cause) {
      throw new DamselflyError('INTERNAL', 'a job\'s sealed credentials do not open with the shared key', { cause })
    }
  }

  private loadKey(): Promise<Buffer> {
    this.key ??= this.readOrCreateKey()
    this.key.catch(() => {
      this.key = undefined
    })
    return this.key
  }

  private async readOrCreateKey(): Promise<Buffer> {
    const db = this.components.database.db
    const existing = await db.selectFrom('secret_keys').select('key_base64').where('name', '=', KEY_NAME).executeTakeFirst()
    if (existing !== undefined) return Buffer.from(existing.key_base64, 'base64')
    try {
      await db.insertInto('secret_keys').values({ name: KEY_NAME, key_base64: randomBytes(32).toString('base64'), created_at_ms: this.components.clock.nowMs() }).execute()
    } catch (error) {
      // Another manager made it first: use theirs.
      if (!isUniqueViolation(error)) throw error
    }
    return this.readOrCreateKey()
  }
}
