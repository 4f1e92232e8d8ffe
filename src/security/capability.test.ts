import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { InstantClock } from '../common/instant-clock.js'
import { assertThrowsCode } from '../protocol/damselfly-error-fixtures.js'
import type { PeerId, TaskId } from '../protocol/ids.js'
import { CapabilityIssuer, CapabilityVerifier, MAX_CAPABILITY_LENGTH } from './capability.js'
import { fromPem } from './x509.js'
import type { LocalIdentity } from './local-identity.js'
import { testCa, testIdentity } from './security-fixtures.js'

const TASK = 'a'.repeat(64) as TaskId
const OTHER_TASK = 'b'.repeat(64) as TaskId
const TTL_MS = 60_000

function issuerOf(signer: LocalIdentity, clock: InstantClock): CapabilityIssuer {
  return new CapabilityIssuer({ clock }, { privateKey: signer.privateKey, certDer: fromPem(signer.certPem), ttlMs: TTL_MS })
}

describe('capabilities', { timeout: 30_000 }, () => {
  it('are accepted for their task until they expire, and bind the child', async () => {
    const ca = await testCa()
    const [scheduler, child] = await Promise.all([testIdentity(ca, 'scheduler'), testIdentity(ca, 'normal')])
    const clock = new InstantClock(Date.now())
    const spki = child.cert.publicKey.export({ type: 'spki', format: 'der' })
    const { token, expiresAtMs } = issuerOf(scheduler, clock).issue({ taskId: TASK, peerId: 'peer-1' as PeerId, hostId: child.identity.hostId, publicKeySpki: spki })
    const verifier = new CapabilityVerifier({ caCert: child.caCert, clock })
    const claims = verifier.verify(token, TASK)
    assert.equal(claims.hostId, child.identity.hostId)
    assert.equal(claims.peerId, 'peer-1')
    assert.deepEqual(claims.publicKeySpki, spki)
    assert.equal(claims.expiresAtMs, Math.floor(expiresAtMs / 1000) * 1000)
    assertThrowsCode(() => verifier.verify(token, OTHER_TASK), 'PERMISSION_DENIED', /is for task a+, not b+/)
    clock.advance(TTL_MS)
    assertThrowsCode(() => verifier.verify(token, TASK), 'CAPABILITY_EXPIRED')
  })

  it('are refused when signed by anyone but a scheduler of this cluster', async () => {
    const ca = await testCa()
    const foreign = await testCa('Foreign CA')
    const clock = new InstantClock(Date.now())
    const child = await testIdentity(ca, 'normal')
    const verifier = new CapabilityVerifier({ caCert: child.caCert, clock })
    const claims = { taskId: TASK, peerId: 'p' as PeerId, hostId: child.identity.hostId, publicKeySpki: child.cert.publicKey.export({ type: 'spki', format: 'der' }) }
    const bySeed = issuerOf(await testIdentity(ca, 'seed'), clock).issue(claims).token
    assertThrowsCode(() => verifier.verify(bySeed, TASK), 'UNAUTHENTICATED', /not a scheduler \(its role is seed\)/)
    const byForeignScheduler = issuerOf(await testIdentity(foreign, 'scheduler'), clock).issue(claims).token
    assertThrowsCode(() => verifier.verify(byForeignScheduler, TASK), 'UNAUTHENTICATED', /not signed by the cluster CA/)
  })

  it('are refused when forged, tampered with or malformed', async () => {
    const ca = await testCa()
    const clock = new InstantClock(Date.now())
    const scheduler = await testIdentity(ca, 'scheduler')
    const child = await testIdentity(ca, 'normal')
    const verifier = new CapabilityVerifier({ caCert: child.caCert, clock })
    const spki = child.cert.publicKey.export({ type: 'spki', format: 'der' })
    const { token } = issuerOf(scheduler, clock).issue({ taskId: TASK, peerId: 'p' as PeerId, hostId: child.identity.hostId, publicKeySpki: spki })
    const [version, payload, signature, cert] = token.split('.') as [string, string, string, string]
    const forgedPayload = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(payload, 'base64url').toString()), t: OTHER_TASK })).toString('base64url')
    const cases: Array<[string | undefined, RegExp]> = [
      [undefined, /no capability/],
      ['', /no capability/],
      ['junk', /expected dfc1/],
      [`${version}.${forgedPayload}.${signature}.${cert}`, /signature does not match/],
      [`${version}.${payload}.${Buffer.from('x').toString('base64url')}.${cert}`, /signature does not match/],
      [`${version}.${payload}.${signature}.${Buffer.from('not a cert').toString('base64url')}`, /cannot be read/],
      [`dfc9.${payload}.${signature}.${cert}`, /expected dfc1/],
      ['x'.repeat(MAX_CAPABILITY_LENGTH + 1), /longer than/],
    ]
    for (const [candidate, message] of cases) assertThrowsCode(() => verifier.verify(candidate, OTHER_TASK), 'UNAUTHENTICATED', message)
    // A byte after the signer's certificate leaves the certificate as it was: a second spelling of the same token.
    const trailing = Buffer.concat([Buffer.from(cert, 'base64url'), Buffer.alloc(1)]).toString('base64url')
    assertThrowsCode(() => verifier.verify(`${version}.${payload}.${signature}.${trailing}`, TASK), 'UNAUTHENTICATED', /cannot be read/)
    assert.equal(verifier.verify(token, TASK).hostId, child.identity.hostId)
  })
})
