import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { DEFAULT_SCRYPT, PasswordHasher } from './password-hasher.js'

describe('PasswordHasher', { timeout: 10_000 }, () => {
  it('hashes with a salt and its parameters in the hash, and checks only the right password', { timeout: 5_000 }, async () => {
    const hasher = new PasswordHasher({ scrypt: { N: 1024, r: 8, p: 1 } })
    const first = await hasher.hash('correct horse')
    const second = await hasher.hash('correct horse')
    assert.match(first, /^scrypt\$1024\$8\$1\$[\w-]{22}\$[\w-]{43}$/)
    assert.notEqual(first, second, 'salted')
    assert.ok(!first.includes('correct horse'))
    assert.equal(await hasher.verify('correct horse', first), true)
    assert.equal(await hasher.verify('correct horsf', first), false)
    assert.equal(await new PasswordHasher({ scrypt: { N: 16, r: 1, p: 1 } }).verify('correct horse', first), true, 'a hash keeps its own parameters')
  })

  it('matches nothing against a malformed hash', { timeout: 5_000 }, async () => {
    const hasher = new PasswordHasher({ scrypt: { N: 16, r: 1, p: 1 } })
    for (const stored of ['', 'plain', 'scrypt$x$8$1$a$b', 'bcrypt$16$1$1$AAAA$AAAA', 'scrypt$16$1$1$AAAA']) {
      assert.equal(await hasher.verify('', stored), false, stored)
    }
  })

  it('costs at least N = 16384 in production', { timeout: 5_000 }, () => {
    assert.ok(DEFAULT_SCRYPT.N >= 16384)
  })
})
