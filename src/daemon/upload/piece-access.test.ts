import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { IncomingMessage } from 'node:http'
import { Socket } from 'node:net'
import { InstantClock } from '../../common/instant-clock.js'
import { assertThrowsCode } from '../../protocol/damselfly-error-fixtures.js'
import type { PeerId, TaskId } from '../../protocol/ids.js'
import { CAPABILITY_HEADER, CapabilityIssuer, CapabilityVerifier } from '../../security/capability.js'
import { SIGNATURE_HEADER, signRequest } from '../../security/request-signature.js'
import type { RevocationList } from '../../security/revocation-watcher.js'
import { testCa, testIdentity } from '../../security/security-fixtures.js'
import { fromPem } from '../../security/x509.js'
import { CapabilityAccess } from './piece-access.js'

const TASK = 'c'.repeat(64) as TaskId

describe('CapabilityAccess', { timeout: 20_000 }, () => {
  it('refuses a revoked host whose capability and signature are otherwise good, and only that host', async () => {
    const ca = await testCa()
    const [scheduler, child, other] = await Promise.all([testIdentity(ca, 'scheduler'), testIdentity(ca, 'normal'), testIdentity(ca, 'normal')])
    const clock = new InstantClock(Date.now())
    const issuer = new CapabilityIssuer({ clock }, { privateKey: scheduler.privateKey, certDer: fromPem(scheduler.certPem), ttlMs: 60_000 })
    const revoked = new Set<string>()
    const revocations: RevocationList = { isRevoked: (hostId) => revoked.has(hostId), onRevoked: () => () => undefined }
    const access = new CapabilityAccess({ verifier: new CapabilityVerifier({ caCert: child.caCert, clock }), clock, revocations }, { tls: false })
    const requestOf = (holder: typeof child): IncomingMessage => {
      const { token } = issuer.issue({ taskId: TASK, peerId: 'p' as PeerId, hostId: holder.identity.hostId, publicKeySpki: holder.identity.publicKeySpki })
      const path = `/download/${TASK.slice(0, 3)}/${TASK}?peerId=p`
      const signature = signRequest(holder.privateKey, { method: 'GET', path, range: 'bytes=0-9' }, clock.nowMs())
      return { method: 'GET', url: path, socket: new Socket(), headers: { [CAPABILITY_HEADER]: token, [SIGNATURE_HEADER]: signature, range: 'bytes=0-9' } } as unknown as IncomingMessage
    }
    const grant = access.check(requestOf(child), TASK)
    assert.equal(grant.holds(), true)
    revoked.add(child.identity.hostId)
    assertThrowsCode(() => access.check(requestOf(child), TASK), 'PERMISSION_DENIED', /is revoked/)
    assert.equal(grant.holds(), false, 'what it was let in to before stops too')
    const otherGrant = access.check(requestOf(other), TASK)
    assert.equal(otherGrant.holds(), true)
    clock.advance(60_000)
    assert.equal(otherGrant.holds(), false, 'and a grant ends with its capability')
  })
})
