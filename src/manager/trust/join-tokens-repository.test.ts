import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { ManualClock } from '../../common/manual-clock.js'
import { isDamselflyError } from '../../protocol/damselfly-error.js'
import { parseJoinToken } from '../../security/join-tokens.js'
import { ClustersRepository } from '../db/clusters-repository.js'
import { createTestDatabase, TEST_DIALECTS, type TestDatabase } from '../db/database-fixtures.js'
import { JoinTokensRepository } from './join-tokens-repository.js'

for (const dialect of TEST_DIALECTS) {
  describe(`JoinTokensRepository on ${dialect}`, { timeout: 60_000 }, () => {
    let test: TestDatabase
    let clock: ManualClock
    let tokens: JoinTokensRepository
    let clusterId: number

    before(async () => {
      test = await createTestDatabase(dialect)
      clock = new ManualClock(1_700_000_000_000)
      clusterId = (await new ClustersRepository({ database: test.database, clock }).ensureDefault()).id
      tokens = new JoinTokensRepository({ database: test.database, clock, pin: () => 'p'.repeat(43) })
    })
    after(async () => {
      await test.drop()
    })

    it('grants the role and cluster of a token, stores only a hash of its secret, and shows the secret once', async () => {
      const { token, summary } = await tokens.create({ role: 'seed', clusterId, ttlMs: 60_000, createdBy: 'root' })
      const { id, secret } = parseJoinToken(token)
      assert.equal(summary.id, id)
      const rows = await test.database.db.selectFrom('join_tokens').selectAll().execute()
      assert.ok(!JSON.stringify(rows).includes(secret), 'the secret is nowhere in the table')
      assert.deepEqual(await tokens.redeem(id, secret), { role: 'seed', clusterId })
      assert.deepEqual(await tokens.redeem(id, secret), { role: 'seed', clusterId }, 'no use limit: any number of joins')
      await assert.rejects(tokens.redeem(id, `${secret.slice(0, -1)}${secret.endsWith('A') ? 'B' : 'A'}`), (error) => isDamselflyError(error, 'PERMISSION_DENIED'))
    })

    it('lets exactly one of many concurrent redemptions take a single-use token', async () => {
      const { token } = await tokens.create({ role: 'normal', clusterId, ttlMs: 60_000, uses: 1, createdBy: 'root' })
      const { id, secret } = parseJoinToken(token)
      const outcomes = await Promise.allSettled(Array.from({ length: 8 }, () => tokens.redeem(id, secret)))
      assert.equal(outcomes.filter((outcome) => outcome.status === 'fulfilled').length, 1)
      assert.equal((await tokens.list()).some((summary) => summary.id === id), false, 'a used-up token is gone')
    })

    it('refuses an expired token and deletes it', async () => {
      const { token } = await tokens.create({ role: 'normal', clusterId, ttlMs: 1_000, createdBy: 'root' })
      const { id, secret } = parseJoinToken(token)
      clock.advance(1_000)
      await assert.rejects(tokens.redeem(id, secret), /expired/)
      await assert.rejects(tokens.redeem(id, secret), /unknown/)
    })

    it('refuses to make a token for a manager, for no cluster, or for no time', async () => {
      await assert.rejects(tokens.create({ role: 'manager', clusterId, ttlMs: 60_000, createdBy: 'root' }), /role must be one of scheduler, seed, normal/)
      await assert.rejects(tokens.create({ role: 'normal', clusterId: 9999, ttlMs: 60_000, createdBy: 'root' }), (error) => isDamselflyError(error, 'NOT_FOUND'))
      await assert.rejects(tokens.create({ role: 'normal', clusterId, ttlMs: 0, createdBy: 'root' }), /positive lifetime/)
    })

    it('revokes a token', async () => {
      const { token } = await tokens.create({ role: 'normal', clusterId, ttlMs: 60_000, createdBy: 'root' })
      const { id, secret } = parseJoinToken(token)
      assert.equal(await tokens.revoke(id), true)
      assert.equal(await tokens.revoke(id), false)
      await assert.rejects(tokens.redeem(id, secret), /unknown/)
    })
  })
}
