import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import type { Clock } from '../../common/clock.js'
import { DamselflyError } from '../../protocol/damselfly-error.js'
import { JOIN_ROLES, type Role } from '../../security/identity.js'
import type { JoinTokenRedeemer } from '../../security/join-service.js'
import { formatJoinToken } from '../../security/join-tokens.js'
import type { ManagerDatabase } from '../db/database.js'

const ID_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789'
const TOKEN_ID = /^[a-z0-9]{6}$/

export interface JoinTokenSummary {
  readonly id: string
  readonly role: string
  readonly clusterId: number
  readonly usesLeft: number | null
  readonly expiresAtMs: number
  readonly createdBy: string
  readonly createdAtMs: number
}

function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex')
}

function isJoinRole(role: string): role is (typeof JOIN_ROLES)[number] {
  return (JOIN_ROLES as readonly string[]).includes(role)
}

/**
 * Join tokens in the manager's database, scoped to a cluster and a role and expiring; only a
 * hash of each secret is kept. Redeeming is one conditional UPDATE, so a single-use token joins
 * one host even when several managers are asked at once.
 */
export class JoinTokensRepository implements JoinTokenRedeemer {
  constructor(private readonly components: { database: ManagerDatabase; clock: Clock; pin: () => string }) {}

  /** A new token, shown once: `dfj1.<id>.<secret>.<ca pin>`. */
  async create(request: { role: string; clusterId: number; ttlMs: number; uses?: number | undefined; createdBy: string }): Promise<{ token: string; summary: JoinTokenSummary }> {
    if (!isJoinRole(request.role)) throw new DamselflyError('INVALID_ARGUMENT', `role must be one of ${JOIN_ROLES.join(', ')}, got ${JSON.stringify(request.role)}`)
    if (!(Number.isInteger(request.ttlMs) && request.ttlMs > 0)) throw new DamselflyError('INVALID_ARGUMENT', 'a join token needs a positive lifetime')
    if (request.uses !== undefined && !(Number.isInteger(request.uses) && request.uses >= 1)) throw new DamselflyError('INVALID_ARGUMENT', 'uses must be a positive integer')
    const cluster = await this.components.database.db.selectFrom('clusters').select('id').where('id', '=', request.clusterId).executeTakeFirst()
    if (cluster === undefined) throw new DamselflyError('NOT_FOUND', `no cluster ${request.clusterId}`)
    const id = Array.from(randomBytes(6), (byte) => ID_ALPHABET[byte % ID_ALPHABET.length]).join('')
    const secret = randomBytes(16).toString('base64url')
    const nowMs = this.components.clock.nowMs()
    const row = {
      id,
      secret_sha256: sha256Hex(secret),
      role: request.role,
      cluster_id: request.clusterId,
      uses_left: request.uses ?? null,
      expires_at_ms: nowMs + request.ttlMs,
      created_by: request.createdBy,
      created_at_ms: nowMs,
    }
    await this.components.database.db.insertInto('join_tokens').values(row).execute()
    return { token: formatJoinToken({ id, secret, pin: this.components.pin() }), summary: toSummary(row) }
  }

  /** Tokens that can still be redeemed; expired ones are deleted on the way. */
  async list(): Promise<JoinTokenSummary[]> {
    const nowMs = this.components.clock.nowMs()
    await this.components.database.db.deleteFrom('join_tokens').where('expires_at_ms', '<=', nowMs).execute()
    const rows = await this.components.database.db.selectFrom('join_tokens').selectAll().orderBy('created_at_ms').execute()
    return rows.map(toSummary)
  }

  /** Deletes a token; false when there was none. */
  async revoke(id: string): Promise<boolean> {
    if (!TOKEN_ID.test(id)) return false
    const result = await this.components.database.db.deleteFrom('join_tokens').where('id', '=', id).executeTakeFirst()
    return Number(result.numDeletedRows) > 0
  }

  async redeem(id: string, secret: string): Promise<{ role: Role; clusterId: number }> {
    const denied = (why: string): DamselflyError => new DamselflyError('PERMISSION_DENIED', `join token ${id} ${why}`)
    const { db } = this.components.database
    const row = TOKEN_ID.test(id) ? await db.selectFrom('join_tokens').selectAll().where('id', '=', id).executeTakeFirst() : undefined
    if (row === undefined) throw denied('is unknown (revoked, used up, or created for another cluster)')
    if (!timingSafeEqual(Buffer.from(sha256Hex(secret), 'hex'), Buffer.from(row.secret_sha256, 'hex'))) throw denied('does not match its secret')
    const nowMs = this.components.clock.nowMs()
    if (row.expires_at_ms <= nowMs) {
      await db.deleteFrom('join_tokens').where('id', '=', id).execute()
      throw denied(`expired at ${new Date(row.expires_at_ms).toISOString()}`)
    }
    if (row.uses_left !== null) {
      // Only the caller whose UPDATE took the last use gets it, whichever manager it asked.
      const taken = await db.updateTable('join_tokens').set((eb) => ({ uses_left: eb('uses_left', '-', 1) }))
        .where('id', '=', id).where('uses_left', '>', 0).executeTakeFirst()
      if (Number(taken.numUpdatedRows) === 0) throw denied('is used up')
      await db.deleteFrom('join_tokens').where('id', '=', id).where('uses_left', '<=', 0).execute()
    }
    if (!isJoinRole(row.role)) throw denied('names no role a host may join as')
    return { role: row.role, clusterId: row.cluster_id }
  }
}

function toSummary(row: { id: string; role: string; cluster_id: number; uses_left: number | null; expires_at_ms: number; created_by: string; created_at_ms: number }): JoinTokenSummary {
  return {
    id: row.id,
    role: row.role,
    clusterId: row.cluster_id,
    usesLeft: row.uses_left,
    expiresAtMs: row.expires_at_ms,
    createdBy: row.created_by,
    createdAtMs: row.created_at_ms,
  }
}
