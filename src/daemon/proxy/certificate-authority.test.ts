import assert from 'node:assert/strict'
import { X509Certificate } from 'node:crypto'
import { before, describe, it } from 'node:test'
import { InstantClock } from '../../common/instant-clock.js'
import { createCertificateAuthority, DAY_MS } from '../../security/x509.js'
import { LEAF_RENEW_AFTER_MS, LEAF_VALID_DAYS, LeafCertificates } from './certificate-authority.js'

const TEST = { timeout: 60_000 }

describe('LeafCertificates', TEST, () => {
  let ca!: { certPem: string; keyPem: string }
  const clock = new InstantClock()

  before(async () => {
    ca = await createCertificateAuthority({ commonName: 'interception test CA', validDays: 3650, nowMs: clock.nowMs() })
  })

  function certificates(maxHosts?: number): LeafCertificates {
    return new LeafCertificates({ clock }, { caCertPem: ca.certPem, caKeyPem: ca.keyPem, ...(maxHosts === undefined ? {} : { maxHosts }) })
  }

  it('serves one leaf per host, signed by the CA and valid for the host now', TEST, async () => {
    const leaves = certificates()
    const [first, again, other] = await Promise.all([leaves.leafFor('registry.example'), leaves.leafFor('registry.example'), leaves.leafFor('10.0.0.5')])
    assert.equal(first, again, 'made once, however many connections ask at once')
    assert.notEqual(first.certPem, other.certPem)
    for (const [leaf, host] of [[first, 'registry.example'], [other, '10.0.0.5']] as const) {
      const cert = new X509Certificate(leaf.certPem)
      assert.ok(cert.checkIssued(new X509Certificate(ca.certPem)))
      assert.ok(host.startsWith('10.') ? cert.checkIP(host) !== undefined : cert.checkHost(host) !== undefined, host)
      assert.ok(Date.parse(cert.validFrom) <= clock.nowMs() && clock.nowMs() < Date.parse(cert.validTo))
      assert.equal(leaf.notAfterMs, Date.parse(cert.validTo))
    }
  })

  it('renews a leaf at half its life, long before it expires', TEST, async () => {
    const leaves = certificates()
    const first = await leaves.leafFor('registry.example')
    clock.advance(LEAF_RENEW_AFTER_MS - 1)
    assert.equal(await leaves.leafFor('registry.example'), first, 'kept until it is due')
    clock.advance(2)
    const renewed = await leaves.leafFor('registry.example')
    assert.notEqual(renewed.certPem, first.certPem, 'a new certificate once due')
    assert.ok(first.notAfterMs - clock.nowMs() >= 14 * DAY_MS, `renewed ${(first.notAfterMs - clock.nowMs()) / DAY_MS} days before the old leaf expired`)
    assert.ok(renewed.notAfterMs - clock.nowMs() >= (LEAF_VALID_DAYS - 1) * DAY_MS, 'the new one runs from now')
    const cert = new X509Certificate(renewed.certPem)
    assert.ok(Date.parse(cert.validFrom) <= clock.nowMs() && clock.nowMs() < Date.parse(cert.validTo))
  })

  it('keeps the leaves of a bounded number of hosts, dropping the least recently used', TEST, async () => {
    const maxHosts = 4
    const leaves = certificates(maxHosts)
    const first = await leaves.leafFor('host-0.example')
    const second = await leaves.leafFor('host-1.example')
    for (let index = 2; index < maxHosts; index++) await leaves.leafFor(`host-${index}.example`)
    assert.equal(await leaves.leafFor('host-0.example'), first, 'all kept up to the bound; host-0 is now the most recently used')
    await leaves.leafFor(`host-${maxHosts}.example`)
    assert.equal(await leaves.leafFor('host-0.example'), first)
    assert.notEqual(await leaves.leafFor('host-1.example'), second, 'the least recently used was dropped and is made anew')
  })
})
