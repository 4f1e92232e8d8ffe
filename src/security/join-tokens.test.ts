import assert from 'node:assert/strict'
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { InstantClock } from '../common/instant-clock.js'
import { assertRejectsCode, assertThrowsCode } from '../protocol/damselfly-error-fixtures.js'
import { formatJoinToken, JoinTokenStore, parseJoinToken } from './join-tokens.js'

const PIN = 'A'.repeat(43)
const HOUR_MS = 3_600_000

describe('join tokens', { timeout: 30_000 }, () => {
  let dir = ''
  let clock!: InstantClock
  let store!: JoinTokenStore
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tokens-'))
  })
  after(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  function fresh(name: string): JoinTokenStore {
    clock = new InstantClock()
    store = new JoinTokenStore({ clock }, { dir: join(dir, name) })
    return store
  }

  it('round-trips through their printed form and refuses anything else', () => {
    const token = { id: 'abc123', secret: 'B'.repeat(22), pin: PIN }
    assert.deepEqual(parseJoinToken(formatJoinToken(token)), token)
    for (const text of ['', 'dfj1.abc123', `dfj2.abc123.${'B'.repeat(22)}.${PIN}`, `dfj1.ABC123.${'B'.repeat(22)}.${PIN}`, `dfj1.abc123.${'B'.repeat(21)}.${PIN}`]) {
      assertThrowsCode(() => parseJoinToken(text), 'INVALID_ARGUMENT', /not a join token/)
    }
  })

  it('grants its role, keeps only a hash of the secret, and is used up after its uses', async () => {
    fresh('uses')
    const { token } = await store.create({ role: 'seed', ttlMs: HOUR_MS, uses: 2, pin: PIN })
    const { id, secret } = parseJoinToken(token)
    const onDisk = await readFile(join(dir, 'uses', `${id}.json`), 'utf8')
    assert.ok(!onDisk.includes(secret), 'the secret itself is never stored')
    assert.equal(await store.redeem(id, secret), 'seed')
    assert.equal((await store.list())[0]?.usesLeft, 1)
    assert.equal(await store.redeem(id, secret), 'seed')
    await assertRejectsCode(store.redeem(id, secret), 'PERMISSION_DENIED', /unknown/)
    assert.deepEqual(await readdir(join(dir, 'uses')), [])
  })

  it('joins one host per use even when hosts race for it', async () => {
    fresh('race')
    const { token } = await store.create({ role: 'normal', ttlMs: HOUR_MS, uses: 1, pin: PIN })
    const { id, secret } = parseJoinToken(token)
    const outcomes = await Promise.allSettled(Array.from({ length: 5 }, () => store.redeem(id, secret)))
    assert.equal(outcomes.filter((outcome) => outcome.status === 'fulfilled').length, 1)
  })

  it('refuses a wrong secret, an expired token and a revoked one', async () => {
    fresh('refusals')
    const { token } = await store.create({ role: 'normal', ttlMs: HOUR_MS, pin: PIN })
    const { id, secret } = parseJoinToken(token)
    await assertRejectsCode(store.redeem(id, 'C'.repeat(22)), 'PERMISSION_DENIED', /does not match/)
    assert.equal(await store.redeem(id, secret), 'normal', 'unlimited uses until it expires')
    clock.advance(HOUR_MS)
    await assertRejectsCode(store.redeem(id, secret), 'PERMISSION_DENIED', /expired/)
    const second = parseJoinToken((await store.create({ role: 'seed', ttlMs: HOUR_MS, pin: PIN })).token)
    assert.equal(await store.revoke(second.id), true)
    await assertRejectsCode(store.redeem(second.id, second.secret), 'PERMISSION_DENIED', /unknown/)
    await assertRejectsCode(store.redeem('../etc', second.secret), 'PERMISSION_DENIED', /unknown/)
  })

  it('needs a positive lifetime and use count', async () => {
    fresh('limits')
    await assertRejectsCode(store.create({ role: 'seed', ttlMs: 0, pin: PIN }), 'INVALID_ARGUMENT', /lifetime/)
    await assertRejectsCode(store.create({ role: 'seed', ttlMs: HOUR_MS, uses: 0, pin: PIN }), 'INVALID_ARGUMENT', /uses/)
  })
})
