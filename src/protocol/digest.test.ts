import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { createHasher, formatDigest, parseDigest, sha256Hex, type Digest, type DigestAlgorithm } from './digest.js'
import { assertThrowsCode } from './damselfly-error-fixtures.js'

const TEST = { timeout: 10_000 }

// Computed outside this code: printf hello | sha256sum, printf hello | sha512sum, and the CRC-32
// in the gzip trailer (printf hello | gzip -c | tail -c8 | od -An -tx4).
const HELLO = {
  sha256: '2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824',
  sha512: '9b71d224bd62f3785d96d46ad3ea3d73319bfbc2890caadae2dff72519673ca72323c3d99ba5c11d7c7acc6e14b8c5da0c4663475c2e5c3adef46f73bcdec043',
  crc32: '3610a686',
} as const satisfies Record<DigestAlgorithm, string>
const EMPTY = {
  sha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  sha512: 'cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e',
  crc32: '00000000',
} as const satisfies Record<DigestAlgorithm, string>
/** CRC-32 of 'hello world' starts with a zero nibble, so it checks the padding. */
const HELLO_WORLD_CRC32 = '0d4a1185'

function assertInvalidArgument(run: () => unknown, ...messages: readonly RegExp[]): void {
  assertThrowsCode(run, 'INVALID_ARGUMENT', ...messages)
}

describe('parseDigest', TEST, () => {
  const valid: ReadonlyArray<{ text: string; expected: Digest }> = [
    { text: `sha256:${HELLO.sha256}`, expected: { algorithm: 'sha256', hex: HELLO.sha256 } },
    { text: `sha256:${HELLO.sha256.toUpperCase()}`, expected: { algorithm: 'sha256', hex: HELLO.sha256 } },
    { text: `sha512:${HELLO.sha512}`, expected: { algorithm: 'sha512', hex: HELLO.sha512 } },
    { text: `crc32:${HELLO.crc32}`, expected: { algorithm: 'crc32', hex: HELLO.crc32 } },
    { text: 'crc32:3610A686', expected: { algorithm: 'crc32', hex: HELLO.crc32 } },
  ]
  for (const { text, expected } of valid) {
    it(`parses ${text.slice(0, 24)}…`, TEST, () => {
      const digest = parseDigest(text)
      assert.deepEqual(digest, expected)
      assert.equal(formatDigest(digest), `${expected.algorithm}:${expected.hex}`)
    })
  }

  const invalid: ReadonlyArray<{ name: string; text: string; message: RegExp }> = [
    { name: 'empty', text: '', message: /digest must be <sha256\|sha512\|crc32>:<hex>/ },
    { name: 'no algorithm', text: HELLO.sha256, message: /digest must be/ },
    { name: 'unknown algorithm', text: `md5:${'0'.repeat(32)}`, message: /digest must be/ },
    { name: 'algorithm in capitals', text: `SHA256:${HELLO.sha256}`, message: /digest must be/ },
    { name: 'extra colon', text: `sha256:${HELLO.sha256}:x`, message: /digest must be/ },
    { name: 'too short', text: `sha256:${HELLO.sha256.slice(1)}`, message: /sha256 digest needs 64 hex digits/ },
    { name: 'too long', text: `sha256:${HELLO.sha256}0`, message: /sha256 digest needs 64 hex digits/ },
    { name: 'sha512 with a sha256 length', text: `sha512:${HELLO.sha256}`, message: /sha512 digest needs 128 hex digits/ },
    { name: 'crc32 too long', text: 'crc32:3610a6860', message: /crc32 digest needs 8 hex digits/ },
    { name: 'not hex', text: `sha256:${'g'.repeat(64)}`, message: /sha256 digest needs 64 hex digits/ },
    { name: 'empty hex', text: 'sha256:', message: /sha256 digest needs 64 hex digits/ },
    { name: 'whitespace', text: ` sha256:${HELLO.sha256}`, message: /digest must be/ },
  ]
  for (const { name, text, message } of invalid) {
    it(`refuses ${name}`, TEST, () => {
      assertInvalidArgument(() => parseDigest(text), message)
    })
  }
})

describe('createHasher', TEST, () => {
  for (const algorithm of ['sha256', 'sha512', 'crc32'] as const) {
    it(`${algorithm} of 'hello' in one chunk`, TEST, () => {
      const hasher = createHasher(algorithm)
      hasher.update(Buffer.from('hello'))
      assert.deepEqual(hasher.digest(), { algorithm, hex: HELLO[algorithm] })
    })

    it(`${algorithm} of 'hello' split over chunks gives the same digest`, TEST, () => {
      const hasher = createHasher(algorithm)
      for (const part of ['he', '', 'l', 'lo']) hasher.update(Buffer.from(part))
      assert.deepEqual(hasher.digest(), { algorithm, hex: HELLO[algorithm] })
    })

    it(`${algorithm} of nothing`, TEST, () => {
      assert.deepEqual(createHasher(algorithm).digest(), { algorithm, hex: EMPTY[algorithm] })
    })
  }

  it('pads a crc32 to 8 hex digits', TEST, () => {
    const hasher = createHasher('crc32')
    hasher.update(Buffer.from('hello world'))
    assert.equal(hasher.digest().hex, HELLO_WORLD_CRC32)
  })

  it('sha256Hex hashes the chunks in order', TEST, () => {
    assert.equal(sha256Hex([Buffer.from('hel'), Buffer.from('lo')]), HELLO.sha256)
    assert.equal(sha256Hex([]), EMPTY.sha256)
  })
})
