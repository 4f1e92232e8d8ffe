import assert from 'node:assert/strict'
import { mkdtemp, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { assertRejectsCode } from '../protocol/damselfly-error-fixtures.js'
import { IDENTITY_FILES, readIdentity, writeIdentity } from './local-identity.js'
import { testCa, testIdentity } from './security-fixtures.js'

describe('a host identity on disk', { timeout: 30_000 }, () => {
  let dir = ''
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'identity-'))
  })
  after(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  it('is written readable by its owner only, and read back whole', async () => {
    const ca = await testCa()
    const local = await testIdentity(ca, 'seed')
    const at = join(dir, 'written')
    await writeIdentity(at, local)
    assert.equal((await stat(at)).mode & 0o777, 0o700)
    assert.equal((await stat(join(at, IDENTITY_FILES.key))).mode & 0o777, 0o600)
    const read = await readIdentity(at)
    assert.deepEqual(read?.identity, local.identity)
  })

  it('is absent from an empty directory', async () => {
    assert.equal(await readIdentity(join(dir, 'nothing-here')), undefined)
  })

  it('is refused when its parts do not belong together or have expired', async () => {
    const ca = await testCa()
    const other = await testCa('Other')
    const mine = await testIdentity(ca, 'normal')
    const theirs = await testIdentity(other, 'normal')
    const cases: Array<[string, { caPem: string; certPem: string; keyPem: string }, RegExp]> = [
      ['foreign-ca', { ...mine, caPem: other.certPem }, /not signed by the cluster CA/],
      ['other-key', { ...mine, keyPem: theirs.keyPem }, /does not belong/],
      ['not-a-key', { ...mine, keyPem: 'junk' }, /not a private key/],
    ]
    for (const [name, files, message] of cases) {
      await writeIdentity(join(dir, name), files)
      await assertRejectsCode(readIdentity(join(dir, name)), 'CONFIG_INVALID', message)
    }
    await writeIdentity(join(dir, 'expired'), mine)
    await assertRejectsCode(readIdentity(join(dir, 'expired'), Date.now() + 400 * 86_400_000), 'CONFIG_INVALID', /expired/)
    await writeIdentity(join(dir, 'partial'), mine)
    await rm(join(dir, 'partial', IDENTITY_FILES.ca))
    await assertRejectsCode(readIdentity(join(dir, 'partial')), 'CONFIG_INVALID', /incomplete/)
  })
})
