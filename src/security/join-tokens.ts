import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import { chmod, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { z } from 'zod'
import type { Clock } from '../common/clock.js'
import { DamselflyError } from '../protocol/damselfly-error.js'
import { isRole, ROLES, type Role } from './identity.js'

/**
 * A join token: `dfj1.<id>.<secret>.<ca pin>`. The id names the token (not secret), the secret
 * (128 bits) proves the holder may join, and the pin is the sha256 of the cluster CA's
 * certificate, checked before the secret is sent anywhere. Like a k3s token, one string to paste.
 */
export interface JoinToken {
  readonly id: string
  readonly secret: string
  readonly pin: string
}

const TOKEN = /^dfj1\.([a-z0-9]{6})\.([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{43})$/
const ID_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789'

export function formatJoinToken(token: JoinToken): string {
  return `dfj1.${token.id}.${token.secret}.${token.pin}`
}

export function parseJoinToken(text: string): JoinToken {
  const match = TOKEN.exec(text.trim())
  if (match === null) throw new DamselflyError('INVALID_ARGUMENT', 'not a join token: expected dfj1.<id>.<secret>.<ca pin> as printed by `damselfly pki token create`')
  return { id: match[1] ?? '', secret: match[2] ?? '', pin: match[3] ?? '' }
}

const recordSchema = z.object({
  role: z.enum(ROLES),
  secretSha256: z.string().regex(/^[0-9a-f]{64}$/),
  createdAt: z.iso.datetime(),
  expiresAt: z.iso.datetime(),
  /** null: any number of joins until it expires. */
  usesLeft: z.number().int().min(1).nullable(),
})
type TokenRecord = z.infer<typeof recordSchema>

export interface TokenSummary {
  readonly id: string
  readonly role: Role
  readonly expiresAt: string
  readonly usesLeft: number | null
}

function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex')
}

/**
 * Join tokens of one cluster PKI, one file each under `<pki>/join-tokens/` (0600): only a hash of
 * the secret is kept. The scheduler redeems them; `damselfly pki token` creates, lists and
 * revokes them, and the scheduler sees new ones without a restart.
 */
export class JoinTokenStore {
  private readonly dir: string
  /** Redemptions of one token run one at a time, so a single-use token joins one host. */
  private readonly locks = new Map<string, Promise<unknown>>()

  constructor(
    private readonly components: { clock: Clock },
    init: { dir: string },
  ) {
    this.dir = init.dir
  }

  /** Creates a token for `role`, valid for `ttlMs` and `uses` joins (undefined: unlimited). */
  async create(request: { role: Role; ttlMs: number; uses?: number | undefined; pin: string }): Promise<{ token: string; summary: TokenSummary }> {
    if (!(request.ttlMs > 0)) throw new DamselflyError('INVALID_ARGUMENT', 'a join token needs a positive lifetime')
    if (request.uses !== undefined && !(Number.isInteger(request.uses) && request.uses >= 1)) throw new DamselflyError('INVALID_ARGUMENT', 'uses must be a positive integer')
    await mkdir(this.dir, { recursive: true, mode: 0o700 })
    await chmod(this.dir, 0o700)
    const id = Array.from(randomBytes(6), (byte) => ID_ALPHABET[byte % ID_ALPHABET.length]).join('')
    const secret = randomBytes(16).toString('base64url')
    const nowMs = this.components.clock.nowMs()
    const record: TokenRecord = {
      role: request.role,
      secretSha256: sha256Hex(secret),
      createdAt: new Date(nowMs).toISOString(),
      expiresAt: new Date(nowMs + request.ttlMs).toISOString(),
      usesLeft: request.uses ?? null,
    }
    await writeFile(this.path(id), JSON.stringify(record), { mode: 0o600, flag: 'wx' })
    return { token: formatJoinToken({ id, secret, pin: request.pin }), summary: { id, role: record.role, expiresAt: record.expiresAt, usesLeft: record.usesLeft } }
  }

  /** The tokens that can still be redeemed; expired ones are removed on the way. */
  async list(): Promise<TokenSummary[]> {
    const names = await readdir(this.dir).catch(() => [] as string[])
    const out: TokenSummary[] = []
    for (const name of names.filter((entry) => entry.endsWith('.json')).sort()) {
      const id = name.slice(0, -'.json'.length)
      const record = await this.read(id)
      if (record === undefined) continue
      if (Date.parse(record.expiresAt) <= this.components.clock.nowMs()) {
        await rm(this.path(id), { force: true })
        continue
      }
      out.push({ id, role: record.role, expiresAt: record.expiresAt, usesLeft: record.usesLeft })
    }
    return out
  }

  /** Deletes a token; false when there was none. */
  async revoke(id: string): Promise<boolean> {
    if (!/^[a-z0-9]{6}$/.test(id)) return false
    const existed = (await this.read(id)) !== undefined
    await rm(this.path(id), { force: true })
    return existed
  }

  /** The role a valid token grants, using one of its joins; PERMISSION_DENIED naming why otherwise. */
  redeem(id: string, secret: string): Promise<Role> {
    const previous = this.locks.get(id) ?? Promise.resolve()
    const next = previous.catch(() => undefined).then(() => this.redeemNow(id, secret))
    this.locks.set(id, next)
    void next.finally(() => {
      if (this.locks.get(id) === next) this.locks.delete(id)
    }).catch(() => undefined)
    return next
  }

  private async redeemNow(id: string, secret: string): Promise<Role> {
    const denied = (why: string): DamselflyError => new DamselflyError('PERMISSION_DENIED', `join token ${id} ${why}`)
    const record = /^[a-z0-9]{6}$/.test(id) ? await this.read(id) : undefined
    if (record === undefined) throw denied('is unknown (revoked, used up, or created for another cluster)')
    const offered = Buffer.from(sha256Hex(secret), 'hex')
    if (!timingSafeEqual(offered, Buffer.from(record.secretSha256, 'hex'))) throw denied('does not match its secret')
    if (Date.parse(record.expiresAt) <= this.components.clock.nowMs()) {
      await rm(this.path(id), { force: true })
      throw denied(`expired at ${record.expiresAt}`)
    }
    if (record.usesLeft === 1) await rm(this.path(id), { force: true })
    else if (record.usesLeft !== null) await this.write(id, { ...record, usesLeft: record.usesLeft - 1 })
    if (!isRole(record.role)) throw denied('names no role')
    return record.role
  }

  private path(id: string): string {
    return join(this.dir, `${id}.json`)
  }

  private async read(id: string): Promise<TokenRecord | undefined> {
    let text: string
    try {
      text = await readFile(this.path(id), 'utf8')
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
      throw error
    }
    let value: unknown
    try {
      value = JSON.parse(text)
    } catch {
      return undefined
    }
    const parsed = recordSchema.safeParse(value)
    return parsed.success ? parsed.data : undefined
  }

  private async write(id: string, record: TokenRecord): Promise<void> {
    const temp = `${this.path(id)}.tmp-${process.pid}`
    await writeFile(temp, JSON.stringify(record), { mode: 0o600 })
    await rename(temp, this.path(id))
  }
}
