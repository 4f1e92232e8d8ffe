import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { assertThrowsCode } from '../protocol/damselfly-error-fixtures.js'
import { AddressPolicy, canonicalAddress, DEFAULT_SOURCE_DENY, describeRefusal, parseCidr, type RefusalReason } from './address-policy.js'

const TEST = { timeout: 5_000 }
const ALLOW_KEY = 'seedPeer.sourcePolicy.allow'

function policy(allow: readonly string[] = [], deny: readonly string[] = DEFAULT_SOURCE_DENY): AddressPolicy {
  return new AddressPolicy({ deny, allow, allowKey: ALLOW_KEY })
}

describe('AddressPolicy: the default deny list', TEST, () => {
  const refused: ReadonlyArray<{ address: string; reason: RefusalReason; deniedBy: string }> = [
    { address: '127.0.0.1', reason: 'loopback', deniedBy: '127.0.0.0/8' },
    { address: '127.255.255.254', reason: 'loopback', deniedBy: '127.0.0.0/8' },
    { address: '::1', reason: 'loopback', deniedBy: '::1/128' },
    { address: '0.0.0.0', reason: 'unspecified', deniedBy: '0.0.0.0/8' },
    { address: '0.1.2.3', reason: 'unspecified', deniedBy: '0.0.0.0/8' },
    { address: '::', reason: 'unspecified', deniedBy: '::/128' },
    { address: '169.254.0.1', reason: 'link-local', deniedBy: '169.254.0.0/16' },
    { address: '169.254.169.254', reason: 'metadata', deniedBy: '169.254.0.0/16' },
    { address: 'fe80::1', reason: 'link-local', deniedBy: 'fe80::/10' },
    { address: 'febf:ffff::1', reason: 'link-local', deniedBy: 'fe80::/10' },
    { address: 'fe80::1%eth0', reason: 'link-local', deniedBy: 'fe80::/10' },
    { address: '100.100.100.200', reason: 'metadata', deniedBy: '100.100.100.200/32' },
    { address: 'fd00:ec2::254', reason: 'metadata', deniedBy: 'fd00:ec2::254/128' },
    { address: 'FD00:EC2:0:0:0:0:0:254', reason: 'metadata', deniedBy: 'fd00:ec2::254/128' },
    // IPv4-mapped IPv6 reaches the IPv4 address, so it is judged as that address.
    { address: '::ffff:127.0.0.1', reason: 'loopback', deniedBy: '127.0.0.0/8' },
    { address: '::ffff:7f00:1', reason: 'loopback', deniedBy: '127.0.0.0/8' },
    { address: '0:0:0:0:0:ffff:a9fe:a9fe', reason: 'metadata', deniedBy: '169.254.0.0/16' },
    { address: '::ffff:0.0.0.0', reason: 'unspecified', deniedBy: '0.0.0.0/8' },
  ]
  for (const { address, reason, deniedBy } of refused) {
    it(`refuses ${address} as ${reason}`, TEST, () => {
      const refusal = policy().check(address)
      assert.equal(refusal?.reason, reason)
      assert.equal(refusal.deniedBy, deniedBy)
    })
  }

  const allowed = ['10.0.0.1', '192.168.1.10', '172.16.0.1', '8.8.8.8', '100.100.100.201', '169.253.255.255', '128.0.0.1', '2001:db8::1', 'fd00:ec2::253', 'fec0::1', '::ffff:8.8.8.8', '::2']
  for (const address of allowed) {
    it(`allows ${address}`, TEST, () => {
      assert.equal(policy().check(address), undefined)
    })
  }
})

describe('AddressPolicy: allow overrides deny', TEST, () => {
  const cases: ReadonlyArray<{ name: string; allow: string[]; deny?: string[]; address: string; allowed: boolean }> = [
    { name: 'an allowed loopback address', allow: ['127.0.0.1/32'], address: '127.0.0.1', allowed: true },
    { name: 'the same address mapped into IPv6', allow: ['127.0.0.1/32'], address: '::ffff:127.0.0.1', allowed: true },
    { name: 'another loopback address stays refused', allow: ['127.0.0.1/32'], address: '127.0.0.2', allowed: false },
    { name: 'IPv6 loopback is not IPv4 loopback', allow: ['127.0.0.0/8'], address: '::1', allowed: false },
    { name: 'an allowed IPv6 range', allow: ['fe80::/64'], address: 'fe80::abcd', allowed: true },
    { name: 'metadata stays refused when only loopback is allowed', allow: ['127.0.0.0/8', '::1/128'], address: '169.254.169.254', allowed: false },
    { name: 'a custom deny range', allow: [], deny: ['10.0.0.0/8'], address: '10.1.2.3', allowed: false },
    { name: 'a hole in a custom deny range', allow: ['10.9.0.0/16'], deny: ['10.0.0.0/8'], address: '10.9.8.7', allowed: true },
  ]
  for (const { name, allow, deny, address, allowed } of cases) {
    it(name, TEST, () => {
      assert.equal(policy(allow, deny).check(address) === undefined, allowed)
    })
  }

  it('names a custom range a denied range', TEST, () => {
    assert.deepEqual(policy([], ['10.0.0.0/8']).check('10.1.2.3'), { address: '10.1.2.3', reason: 'denied range', deniedBy: '10.0.0.0/8' })
  })

  it('allows everything with an empty deny list', TEST, () => {
    assert.equal(policy([], []).check('127.0.0.1'), undefined)
  })
})

describe('AddressPolicy: input', TEST, () => {
  it('refuses a deny or allow entry that is not a CIDR, naming it', TEST, () => {
    assertThrowsCode(() => policy(['127.0.0.1']), 'CONFIG_INVALID', /allow: "127\.0\.0\.1" is not a CIDR/)
    assertThrowsCode(() => policy([], ['10.0.0.0/33']), 'CONFIG_INVALID', /deny: "10\.0\.0\.0\/33" is not a CIDR/)
  })

  it('throws INVALID_ARGUMENT for a name: callers resolve names first', TEST, () => {
    assertThrowsCode(() => policy().check('localhost'), 'INVALID_ARGUMENT', /"localhost" is not an IP address/)
  })
})

describe('parseCidr', TEST, () => {
  const cases: ReadonlyArray<{ text: string; valid: boolean }> = [
    { text: '10.0.0.0/8', valid: true },
    { text: '127.0.0.1/32', valid: true },
    { text: '0.0.0.0/0', valid: true },
    { text: '::/0', valid: true },
    { text: 'fd00:ec2::254/128', valid: true },
    { text: '10.0.0.0', valid: false },
    { text: '10.0.0.0/', valid: false },
    { text: '10.0.0.0/33', valid: false },
    { text: '::1/129', valid: false },
    { text: '10.0.0.0/8/8', valid: false },
    { text: '10.0.0.0/-1', valid: false },
    { text: '10.0.0.0/ 8', valid: false },
    { text: 'fe80::%eth0/10', valid: false },
    { text: 'localhost/32', valid: false },
    { text: '', valid: false },
  ]
  for (const { text, valid } of cases) {
    it(`${valid ? 'accepts' : 'refuses'} ${JSON.stringify(text)}`, TEST, () => {
      assert.equal(parseCidr(text) !== undefined, valid)
    })
  }
})

describe('canonicalAddress', TEST, () => {
  const cases: ReadonlyArray<{ text: string; canonical: string | undefined }> = [
    { text: '10.1.2.3', canonical: '10.1.2.3' },
    { text: '::FFFF:10.1.2.3', canonical: '10.1.2.3' },
    { text: '0:0:0:0:0:ffff:0a01:0203', canonical: '10.1.2.3' },
    { text: '2001:DB8:0:0:0:0:0:1', canonical: '2001:db8::1' },
    { text: 'fe80::1%eth0', canonical: 'fe80::1' },
    { text: '::ffff:1', canonical: '::ffff:1' },
    { text: 'example.com', canonical: undefined },
  ]
  for (const { text, canonical } of cases) {
    it(`${text} -> ${String(canonical)}`, TEST, () => {
      assert.equal(canonicalAddress(text)?.address, canonical)
    })
  }
})

describe('describeRefusal', TEST, () => {
  it('says what the address is, why, and which key lets it through', TEST, () => {
    const refusal = policy().check('127.0.0.1')
    assert.ok(refusal !== undefined)
    assert.equal(
      describeRefusal(refusal, 'localhost', ALLOW_KEY),
      'localhost resolves to 127.0.0.1, a loopback address (deny 127.0.0.0/8); to fetch it anyway, add it to seedPeer.sourcePolicy.allow',
    )
    assert.equal(describeRefusal(refusal, '127.0.0.1', ALLOW_KEY).split(';')[0], '127.0.0.1 is a loopback address (deny 127.0.0.0/8)')
    assert.equal(describeRefusal(refusal, '::ffff:7f00:1', ALLOW_KEY).split(';')[0], '::ffff:7f00:1 (127.0.0.1) is a loopback address (deny 127.0.0.0/8)')
  })

  it('names a metadata service address as such', TEST, () => {
    const refusal = policy().check('169.254.169.254')
    assert.ok(refusal !== undefined)
    assert.match(describeRefusal(refusal, '169.254.169.254', ALLOW_KEY), /^169\.254\.169\.254 is a cloud metadata service address \(deny 169\.254\.0\.0\/16\)/)
  })
})
