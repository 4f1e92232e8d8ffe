import assert from 'node:assert/strict'
import type { PeerCertificate } from 'node:tls'
import { after, describe, it } from 'node:test'
import { Server, status, type ServiceError } from '@grpc/grpc-js'
import { IdentityServiceClient, IdentityServiceService, type IdentityServiceServer } from '../protocol/generated/damselfly/identity/v1/identity.js'
import { CallerIdentities, callerIdentity, controlPlaneServerCredentials, http2SessionOf, SCHEDULER_CHANNEL_OPTIONS, schedulerChannelCredentials, type AuthenticatedCall } from './grpc-tls.js'
import type { LocalIdentity } from './local-identity.js'
import { testCa, testIdentity } from './security-fixtures.js'
import { fromPem } from './x509.js'

const TEST = { timeout: 20_000 }

/** A control-plane server holding `local`'s certificate, answering the CA call. */
async function serverAs(local: LocalIdentity): Promise<{ address: string; stop: () => void }> {
  const server = new Server()
  const handlers: IdentityServiceServer = {
    getClusterCa: (_call, callback) => callback(null, { caPem: local.caPem }),
    join: (_call, callback) => callback({ code: status.UNIMPLEMENTED }, null),
  }
  server.addService(IdentityServiceService, handlers)
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', controlPlaneServerCredentials(local), (error, bound) => (error === null ? resolve(bound) : reject(error))))
  return { address: `127.0.0.1:${port}`, stop: () => server.forceShutdown() }
}

function call(address: string, as: LocalIdentity): Promise<ServiceError | null> {
  const client = new IdentityServiceClient(address, schedulerChannelCredentials(as), SCHEDULER_CHANNEL_OPTIONS)
  return new Promise((resolve) => client.getClusterCa({}, (error) => {
    client.close()
    resolve(error)
  }))
}

describe('a daemon talks to schedulers of its own cluster only', TEST, () => {
  const stops: Array<() => void> = []

  after(() => {
    for (const stop of stops) stop()
  })

  it('reaches a scheduler certified by its CA', TEST, async () => {
    const ca = await testCa()
    const own = await testIdentity(ca, 'normal')
    const real = await serverAs(await testIdentity(ca, 'scheduler'))
    stops.push(real.stop)
    assert.equal(await call(real.address, own), null)
  })

  it('refuses a server that is not a scheduler of its CA: a host of the cluster, or another CA\'s scheduler', TEST, async () => {
    const caOfDaemon = await testCa()
    const own = await testIdentity(caOfDaemon, 'normal')
    for (const [name, impostor] of [['a normal host', await testIdentity(caOfDaemon, 'normal')], ['another CA\'s scheduler', await testIdentity(await testCa('Other'), 'scheduler')]] as const) {
      const fake = await serverAs(impostor)
      stops.push(fake.stop)
      assert.equal((await call(fake.address, own))?.code, status.UNAVAILABLE, name)
    }
  })
})

describe('CallerIdentities', TEST, () => {
  /** A call whose TLS peer showed `certPem`, or no certificate. */
  function callWith(certPem: string | undefined): AuthenticatedCall {
    return { getAuthContext: () => (certPem === undefined ? {} : { sslPeerCertificate: { raw: fromPem(certPem) } as PeerCertificate }) }
  }

  it('says what callerIdentity says, for each certificate, remembering it by the certificate\'s bytes', TEST, async () => {
    const ca = await testCa()
    const [seed, normal] = await Promise.all([testIdentity(ca, 'seed'), testIdentity(ca, 'normal')])
    const foreign = await testIdentity(await testCa('Other CA'), 'normal')
    const identities = new CallerIdentities({ maxEntries: 2 })
    for (const local of [seed, normal, seed, normal]) {
      const call = callWith(local.certPem)
      assert.deepEqual(identities.of(call), callerIdentity(callWith(local.certPem)))
      assert.equal(identities.of(call)?.hostId, local.identity.hostId)
      assert.equal(identities.of(call)?.role, local.identity.role)
    }
    assert.equal(identities.of(callWith(seed.certPem)), identities.of(callWith(seed.certPem)), 'parsed once, then remembered')
    assert.equal(identities.of(callWith(undefined)), undefined, 'no certificate, no identity')
    // A certificate of another CA still carries an identity; TLS, not this cache, refuses it on the connection.
    assert.equal(identities.of(callWith(foreign.certPem))?.hostId, foreign.identity.hostId)
    assert.equal(identities.of(callWith(seed.certPem))?.hostId, seed.identity.hostId, 'evicted and parsed again')
  })
})

describe('CallerIdentities over real connections', TEST, () => {
  const stops: Array<() => void> = []

  after(() => {
    for (const stop of stops) stop()
  })

  it('reads a connection\'s certificate once, and answers each call with its own connection\'s identity', TEST, async () => {
    const ca = await testCa()
    const identities = new CallerIdentities({ maxEntries: 16 })
    let certificateReads = 0
    let sessionsSeen = 0
    // The CA call answers with what the caller's connection says it is.
    const server = new Server()
    const handlers: IdentityServiceServer = {
      getClusterCa: (call, callback) => {
        if (http2SessionOf(call) !== undefined) sessionsSeen++
        const read = call.getAuthContext.bind(call)
        call.getAuthContext = () => {
          certificateReads++
          return read()
        }
        const identity = identities.of(call)
        callback(null, { caPem: identity === undefined ? 'none' : `${identity.role} ${identity.hostId}` })
      },
      join: (_call, callback) => callback({ code: status.UNIMPLEMENTED }, null),
    }
    server.addService(IdentityServiceService, handlers)
    const credentials = controlPlaneServerCredentials(await testIdentity(ca, 'scheduler'))
    const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', credentials, (error, bound) => (error === null ? resolve(bound) : reject(error))))
    stops.push(() => server.forceShutdown())
    const [normal, seed] = await Promise.all([testIdentity(ca, 'normal'), testIdentity(ca, 'seed')])
    const channel = (local: LocalIdentity): IdentityServiceClient => {
      const client = new IdentityServiceClient(`127.0.0.1:${port}`, schedulerChannelCredentials(local), { ...SCHEDULER_CHANNEL_OPTIONS, 'grpc.use_local_subchannel_pool': 1 })
      stops.push(() => client.close())
      return client
    }
    const ask = (client: IdentityServiceClient): Promise<string> => new Promise((resolve, reject) => client.getClusterCa({}, (error, answer) => (error === null ? resolve(answer?.caPem ?? '') : reject(error))))
    const [asNormal, asSeed] = [channel(normal), channel(seed)]
    const said: string[] = []
    for (const client of [asNormal, asNormal, asSeed, asNormal, asSeed, asSeed]) said.push(await ask(client))
    const [n, s] = [`normal ${normal.identity.hostId}`, `seed ${seed.identity.hostId}`]
    assert.deepEqual(said, [n, n, s, n, s, s])
    assert.equal(sessionsSeen, 6, 'grpc-js shows each call\'s connection (a grpc-js upgrade may move it)')
    assert.equal(certificateReads, 2, 'one certificate read per connection')
  })
})
