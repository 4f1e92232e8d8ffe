import assert from 'node:assert/strict'
import { X509Certificate } from 'node:crypto'
import { describe, it } from 'node:test'
import { assertRejectsCode, assertThrowsCode } from '../protocol/damselfly-error-fixtures.js'
import { generateHostKey, hostIdOfKey, identityOf, issueHostCertificate, normalizeIp, validateIdentityRequest } from './identity.js'
import { testCa } from './security-fixtures.js'
import { leafProblem, loadX509, signLeaf, importEcPublicKey } from './x509.js'

describe('host identity certificates', { timeout: 30_000 }, () => {
  it('binds the role, the key-derived host id and the addresses, and reads them back', async () => {
    const ca = await testCa()
    const { publicKeySpki } = generateHostKey()
    for (const role of ['seed', 'normal', 'scheduler'] as const) {
      const { certPem, identity } = await issueHostCertificate(ca, { role, publicKeySpki, hostname: 'node-1.example', ips: ['10.0.0.5', '::1'] })
      const cert = new X509Certificate(certPem)
      assert.deepEqual(identityOf(cert), identity)
      assert.equal(identity.hostId, hostIdOfKey(publicKeySpki))
      assert.equal(identity.role, role)
      assert.deepEqual(identity.ips, ['10.0.0.5', '::1'])
      assert.equal(leafProblem(cert, new X509Certificate(ca.certPem), Date.now()), undefined)
    }
  })

  it('carries no identity when the host id in the certificate is not its key\'s', async () => {
    const ca = await testCa()
    const x509 = await loadX509()
    const holder = generateHostKey()
    const other = generateHostKey()
    // A certificate for one key that claims another key's host id.
    const certPem = await signLeaf(ca, {
      subject: 'CN=thief, OU=seed, O=Damselfly',
      publicKey: await importEcPublicKey(holder.publicKeySpki),
      validDays: 1,
      extensions: [new x509.SubjectAlternativeNameExtension([{ type: 'url', value: `urn:damselfly:host:${hostIdOfKey(other.publicKeySpki)}` }, { type: 'ip', value: '127.0.0.1' }])],
    })
    assert.equal(identityOf(new X509Certificate(certPem)), undefined)
  })

  it('carries no identity without exactly one known role', async () => {
    const ca = await testCa()
    const x509 = await loadX509()
    const { publicKeySpki } = generateHostKey()
    const hostUri = `urn:damselfly:host:${hostIdOfKey(publicKeySpki)}`
    for (const subject of ['CN=a, OU=root, O=Damselfly', 'CN=a, OU=seed, OU=normal, O=Damselfly', 'CN=a, O=Damselfly', 'CN=a, OU=seed, O=Other']) {
      const certPem = await signLeaf(ca, {
        subject,
        publicKey: await importEcPublicKey(publicKeySpki),
        validDays: 1,
        extensions: [new x509.SubjectAlternativeNameExtension([{ type: 'url', value: hostUri }])],
      })
      assert.equal(identityOf(new X509Certificate(certPem)), undefined, subject)
    }
  })

  it('refuses what a certificate must not bind', () => {
    const cases: Array<[{ hostname: string; ips: string[] }, RegExp]> = [
      [{ hostname: 'a,OU=seed', ips: ['127.0.0.1'] }, /hostname/],
      [{ hostname: '', ips: ['127.0.0.1'] }, /hostname/],
      [{ hostname: 'ok', ips: [] }, /1 to 16 addresses/],
      [{ hostname: 'ok', ips: ['example.com'] }, /not an IP address/],
      [{ hostname: 'ok', ips: Array.from({ length: 17 }, () => '10.0.0.1') }, /1 to 16/],
    ]
    for (const [request, message] of cases) assertThrowsCode(() => validateIdentityRequest(request), 'INVALID_ARGUMENT', message)
  })

  it('refuses a public key that is not ECDSA P-256', async () => {
    const ca = await testCa()
    await assertRejectsCode(issueHostCertificate(ca, { role: 'normal', publicKeySpki: Buffer.from('junk'), hostname: 'a', ips: ['127.0.0.1'] }), 'INVALID_ARGUMENT', /P-256/)
  })

  it('says why a certificate is not a valid leaf of the CA', async () => {
    const ca = await testCa()
    const other = await testCa('Other CA')
    const { publicKeySpki } = generateHostKey()
    const { certPem } = await issueHostCertificate(other, { role: 'seed', publicKeySpki, hostname: 'a', ips: ['127.0.0.1'] })
    const caCert = new X509Certificate(ca.certPem)
    assert.match(leafProblem(new X509Certificate(certPem), caCert, Date.now()) ?? '', /not signed by the cluster CA/)
    const mine = new X509Certificate((await issueHostCertificate(ca, { role: 'seed', publicKeySpki, hostname: 'a', ips: ['127.0.0.1'], validDays: 1 })).certPem)
    assert.match(leafProblem(mine, caCert, Date.now() + 2 * 86_400_000) ?? '', /expired/)
    assert.match(leafProblem(mine, caCert, Date.now() - 2 * 3_600_000) ?? '', /not valid yet/)
  })

  it('compares IPv6 addresses in one form', () => {
    assert.equal(normalizeIp('0:0:0:0:0:0:0:1'), '::1')
    assert.equal(normalizeIp('FE80:0:0:0:0:0:0:1'), 'fe80::1')
    assert.equal(normalizeIp('10.0.0.1'), '10.0.0.1')
  })
})
