import assert from 'node:assert/strict'
import type { IncomingMessage } from 'node:http'
import { describe, it } from 'node:test'
import { isLoopbackAddress, RegistryUpstreams, type RegistryUpstreamsInit } from './registry-upstream.js'

const TEST = { timeout: 10_000 }

function request(url: string, remoteAddress: string | undefined, headers: Record<string, string> = {}): IncomingMessage {
  return { url, headers, socket: { remoteAddress } } as unknown as IncomingMessage
}

const INIT: RegistryUpstreamsInit = { defaultRegistry: 'https://index.docker.io', allowedRegistries: ['allowed.example:5000'], anyRegistryFromLoopback: true }
const BLOB = '/v2/library/alpine/blobs/sha256:' + 'a'.repeat(64)
/** Addresses a container runtime on this host connects from. */
const LOOPBACK = ['127.0.0.1', '127.1.2.3', '::1', '::ffff:127.0.0.1', '0:0:0:0:0:0:0:1'] as const
/** Addresses of other hosts, and spellings that only look local. */
const REMOTE = ['10.0.0.5', '192.168.1.2', '::ffff:10.0.0.5', 'fe80::1', '::', '0.0.0.0', '128.0.0.1', '', undefined] as const

describe('isLoopbackAddress', TEST, () => {
  for (const address of LOOPBACK) it(`${address} is loopback`, TEST, () => assert.equal(isLoopbackAddress(address), true))
  for (const address of REMOTE) it(`${String(address)} is not`, TEST, () => assert.equal(isLoopbackAddress(address), false))
})

describe('RegistryUpstreams.resolve', TEST, () => {
  const cases: ReadonlyArray<{ name: string; url: string; headers?: Record<string, string>; origin: string; pathAndQuery: string }> = [
    { name: 'the default registry', url: BLOB, origin: 'https://index.docker.io', pathAndQuery: BLOB },
    { name: 'containerd\'s ns, dropped from the query', url: `${BLOB}?ns=ghcr.io`, origin: 'https://ghcr.io', pathAndQuery: BLOB },
    { name: 'ns among other parameters', url: `/v2/x/tags/list?n=10&ns=ghcr.io&last=a`, origin: 'https://ghcr.io', pathAndQuery: '/v2/x/tags/list?n=10&last=a' },
    { name: 'X-Dragonfly-Registry over ns', url: `${BLOB}?ns=ghcr.io`, headers: { 'x-dragonfly-registry': 'http://quay.example:8080' }, origin: 'http://quay.example:8080', pathAndQuery: BLOB },
  ]
  for (const { name, url, headers, origin, pathAndQuery } of cases) {
    it(`a loopback client may name any registry: ${name}`, TEST, () => {
      assert.deepEqual(new RegistryUpstreams(INIT).resolve(request(url, '127.0.0.1', headers)), { origin, pathAndQuery })
    })
  }

  it('a client of another host gets the default and the allowed list only, whatever it names', TEST, () => {
    const upstreams = new RegistryUpstreams(INIT)
    for (const address of REMOTE) {
      assert.deepEqual(upstreams.resolve(request(BLOB, address)), { origin: 'https://index.docker.io', pathAndQuery: BLOB })
      assert.deepEqual(upstreams.resolve(request(BLOB, address, { 'x-dragonfly-registry': 'https://allowed.example:5000' })), { origin: 'https://allowed.example:5000', pathAndQuery: BLOB })
      for (const named of [{ 'x-dragonfly-registry': 'https://ghcr.io' }, { 'x-dragonfly-registry': 'http://169.254.169.254' }]) {
        const outcome = upstreams.resolve(request(BLOB, address, named))
        assert.ok('refused' in outcome, `${String(address)} got ${JSON.stringify(outcome)}`)
        assert.equal(outcome.refused, 'registry-not-allowed')
        assert.equal(outcome.error.code, 'UPSTREAM_NOT_ALLOWED')
      }
      const viaNs = upstreams.resolve(request(`${BLOB}?ns=ghcr.io`, address))
      assert.ok('refused' in viaNs && viaNs.refused === 'registry-not-allowed')
    }
  })

  it('with anyRegistryFromLoopback off, loopback clients are held to the allowed list too', TEST, () => {
    const upstreams = new RegistryUpstreams({ ...INIT, anyRegistryFromLoopback: false })
    for (const address of LOOPBACK) {
      const outcome = upstreams.resolve(request(BLOB, address, { 'x-dragonfly-registry': 'https://ghcr.io' }))
      assert.ok('refused' in outcome && outcome.refused === 'registry-not-allowed', `${address}: ${JSON.stringify(outcome)}`)
    }
  })

  const badHeaders = ['not a url', 'ftp://ghcr.io', 'file:///etc/passwd', 'javascript:alert(1)']
  for (const value of badHeaders) {
    it(`refuses X-Dragonfly-Registry ${JSON.stringify(value)} from any client`, TEST, () => {
      const outcome = new RegistryUpstreams(INIT).resolve(request(BLOB, '127.0.0.1', { 'x-dragonfly-registry': value }))
      assert.ok('refused' in outcome && outcome.refused === 'bad-registry-header' && outcome.error.code === 'INVALID_ARGUMENT', JSON.stringify(outcome))
    })
  }
})

describe('RegistryUpstreams.allows (CONNECT)', TEST, () => {
  const upstreams = new RegistryUpstreams(INIT)
  it('lets loopback clients tunnel to any host, others to the default and allowed ones only', TEST, () => {
    for (const address of LOOPBACK) assert.equal(upstreams.allows('ghcr.io:443', address), true, address)
    for (const address of REMOTE) {
      assert.equal(upstreams.allows('ghcr.io:443', address), false, String(address))
      assert.equal(upstreams.allows('index.docker.io:443', address), true)
      assert.equal(upstreams.allows('ALLOWED.example:5000', address), true)
    }
  })

  it('holds loopback clients to the lists too with anyRegistryFromLoopback off', TEST, () => {
    const strict = new RegistryUpstreams({ ...INIT, anyRegistryFromLoopback: false })
    assert.equal(strict.allows('ghcr.io:443', '127.0.0.1'), false)
    assert.equal(strict.allows('index.docker.io:443', '127.0.0.1'), true)
  })
})
