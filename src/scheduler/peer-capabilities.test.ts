import assert from 'node:assert/strict'
import { generateKeyPairSync } from 'node:crypto'
import { describe, it } from 'node:test'
import { CapabilityIssuer } from '../security/capability.js'
import type { TaskId } from '../protocol/ids.js'
import type { Host } from './host.js'
import type { Peer } from './peer.js'
import { PeerCapabilities, REMEMBERED_CAPABILITIES } from './peer-capabilities.js'
import { Resources } from './resource-fixtures.js'

const TEST = { timeout: 20_000 }
const TTL_MS = 3_600_000

/** Capabilities signed with a fresh key; ECDSA signatures differ each time, so a re-signed capability differs from the last. */
function capabilities(r: Resources): PeerCapabilities {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  return new PeerCapabilities({ issuer: new CapabilityIssuer({ clock: r.clock }, { privateKey, certDer: Buffer.from('certificate'), ttlMs: TTL_MS }), clock: r.clock })
}

function hostWithIdentity(r: Resources, id: string): Host {
  const host = r.host(id)
  host.identity = { hostId: host.id, role: 'normal', hostname: id, ips: [], publicKeySpki: Buffer.from(`key of ${id}`) }
  return host
}

describe('PeerCapabilities', TEST, () => {
  it('reuses a peer\'s capability until half its life is gone, then signs a fresh one', TEST, () => {
    const r = new Resources()
    const peer = r.peer('p', hostWithIdentity(r, 'h'))
    const caps = capabilities(r)
    const first = caps.for(peer)
    assert.notEqual(first, '')
    assert.equal(caps.for(peer), first)
    r.clock.advance(TTL_MS / 2)
    assert.notEqual(caps.for(peer), first, 'renewed at half its life')
  })

  it('signs none for a host without an identity', TEST, () => {
    const r = new Resources()
    assert.equal(capabilities(r).for(r.peer('p', r.host('h'))), '')
  })

  it('remembers the most recently issued capabilities only: an older peer gets a fresh one', TEST, () => {
    const r = new Resources()
    const host = hostWithIdentity(r, 'h')
    const caps = capabilities(r)
    // One host's peers of as many tasks: each a peer of its own.
    const peerOfTask = (i: number): Peer => r.peer(`p${i}`, host, { task: r.task(i.toString(16).padStart(64, '0') as TaskId) })
    const first = peerOfTask(0)
    const token = caps.for(first)
    for (let i = 1; i <= REMEMBERED_CAPABILITIES; i++) caps.for(peerOfTask(i))
    assert.notEqual(caps.for(first), token)
  })
})
