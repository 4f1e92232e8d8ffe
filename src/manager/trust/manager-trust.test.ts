import assert from 'node:assert/strict'
import { X509Certificate } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { credentials, Metadata, type ChannelCredentials } from '@grpc/grpc-js'
import { systemClock } from '../../common/clock.js'
import { silentLogger } from '../../common/logger.js'
import { CertificateServiceClient } from '../../protocol/generated/damselfly/identity/v1/identity.js'
import { MANAGER_CHANNEL_OPTIONS, managerChannelCredentials } from '../../security/grpc-tls.js'
import { identityOf } from '../../security/identity.js'
import { joinCluster } from '../../security/join-client.js'
import { readIdentity, type LocalIdentity } from '../../security/local-identity.js'
import { CertificateRenewer } from '../../security/certificate-renewer.js'
import { RevocationWatcher } from '../../security/revocation-watcher.js'
import { resolveManagerConfig, type ManagerConfig } from '../config.js'
import { Manager } from '../manager.js'

function call<Res>(run: (done: (error: Error | null, response: Res) => void) => void): Promise<Res> {
  return new Promise((resolve, reject) => run((error, response) => (error === null ? resolve(response) : reject(error))))
}

function certificateClient(address: string, channel: ChannelCredentials): CertificateServiceClient {
  return new CertificateServiceClient(address, channel, MANAGER_CHANNEL_OPTIONS)
}

describe('the manager holds the cluster CA', { timeout: 60_000 }, () => {
  let dataDir: string
  let config: ManagerConfig
  let manager: Manager
  let clusterId: number

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'damselfly-manager-trust-'))
    config = resolveManagerConfig({ flags: { server: { dataDir, rest: { listenIP: '127.0.0.1', port: 0 }, grpc: { listenIP: '127.0.0.1', port: 0 } }, security: { certificateValidity: '2h' } } })
    manager = new Manager(config, { logger: silentLogger() })
    await manager.start()
    clusterId = (await manager.clusters.ensureDefault()).id
  })
  after(async () => {
    await manager.stop()
    await rm(dataDir, { recursive: true, force: true })
  })

  async function joinAs(role: 'normal' | 'seed' | 'scheduler', ip: string): Promise<LocalIdentity> {
    const { token } = await manager.joinTokens.create({ role, clusterId, ttlMs: 60_000, uses: 1, createdBy: 'test' })
    return joinCluster({ address: manager.grpcAddressBound ?? '', token, hostname: `host-${ip.replaceAll('.', '-')}`, ips: [ip], timeoutMs: 5_000 })
  }

  it('certifies a host that joins with a token of its cluster, for the configured lifetime, once per single-use token', async () => {
    const { token } = await manager.joinTokens.create({ role: 'seed', clusterId, ttlMs: 60_000, uses: 1, createdBy: 'test' })
    const local = await joinCluster({ address: manager.grpcAddressBound ?? '', token, hostname: 'seed-1', ips: ['10.0.0.1'], timeoutMs: 5_000 })
    assert.equal(local.identity.role, 'seed')
    assert.equal(local.caPem.trim(), manager.clusterCa.signer.certPem.trim())
    const lifetimeMs = Date.parse(local.cert.validTo) - Date.now()
    assert.ok(lifetimeMs > 1.9 * 3_600_000 && lifetimeMs <= 2 * 3_600_000, `valid for ${lifetimeMs} ms`)
    const recorded = await manager.certificates.get(local.identity.hostId)
    assert.equal(recorded?.clusterId, clusterId)
    assert.deepEqual(recorded?.ips, ['10.0.0.1'])
    await assert.rejects(
      joinCluster({ address: manager.grpcAddressBound ?? '', token, hostname: 'seed-2', ips: ['10.0.0.2'], timeoutMs: 5_000 }),
      /join token .* is (unknown|used up)/,
    )
  })

  it('renews a certificate for the same key, role and addresses, only to its holder; lists revoked hosts only to hosts of the cluster', async () => {
    const local = await joinAs('normal', '10.0.0.3')
    const client = certificateClient(manager.grpcAddressBound ?? '', managerChannelCredentials(local))
    try {
      const renewed = await call<{ certPem: string }>((done) => client.renewCertificate({}, new Metadata(), { deadline: Date.now() + 5_000 }, done))
      const identity = identityOf(new X509Certificate(renewed.certPem))
      assert.equal(identity?.hostId, local.identity.hostId)
      assert.equal(identity?.role, 'normal')
      assert.deepEqual(identity?.ips, ['10.0.0.3'])
    } finally {
      client.close()
    }
    const anonymous = certificateClient(manager.grpcAddressBound ?? '', credentials.createSsl(Buffer.from(local.caPem), null, null, { checkServerIdentity: () => undefined }))
    try {
      await assert.rejects(call((done) => anonymous.renewCertificate({}, new Metadata(), { deadline: Date.now() + 5_000 }, done)), /UNAUTHENTICATED|no certificate/)
      await assert.rejects(call((done) => anonymous.listRevokedHosts({}, new Metadata(), { deadline: Date.now() + 5_000 }, done)), /UNAUTHENTICATED|no certificate/)
    } finally {
      anonymous.close()
    }
  })

  it('tells every host of a revoked one, and refuses the revoked host its renewal', async () => {
    const victim = await joinAs('normal', '10.0.0.4')
    const witness = await joinAs('normal', '10.0.0.5')
    const watcher = new RevocationWatcher(
      { clock: systemClock, logger: silentLogger() },
      { managerAddrs: [manager.grpcAddressBound ?? ''], credentials: () => managerChannelCredentials(witness), intervalMs: 60_000 },
    )
    await watcher.start()
    try {
      assert.equal(watcher.isRevoked(victim.identity.hostId), false)
      const heard: string[] = []
      watcher.onRevoked((hostIds) => heard.push(...hostIds))
      await manager.certificates.revoke(victim.identity.hostId, 'root')
      await watcher.poll()
      assert.equal(watcher.isRevoked(victim.identity.hostId), true)
      assert.deepEqual(heard, [victim.identity.hostId])
      const client = certificateClient(manager.grpcAddressBound ?? '', managerChannelCredentials(victim))
      try {
        await assert.rejects(call((done) => client.renewCertificate({}, new Metadata(), { deadline: Date.now() + 5_000 }, done)), /revoked/)
      } finally {
        client.close()
      }
    } finally {
      await watcher.stop()
    }
  })

  it('lets a host renew its certificate before it expires, keeping its key and id, and writes the new one to its identity directory', async () => {
    const local = await joinAs('normal', '10.0.0.6')
    const identityDir = join(dataDir, 'renewing-host')
    const renewed: LocalIdentity[] = []
    const renewer = new CertificateRenewer(
      { clock: systemClock, logger: silentLogger(), onRenewed: (identity) => renewed.push(identity) },
      { identity: local, identityDir, managerAddrs: ['127.0.0.1:1', manager.grpcAddressBound ?? ''], timeoutMs: 2_000 },
    )
    await renewer.start()
    try {
      await renewer.renewNow()
      assert.equal(renewed.length, 1, 'a manager that does not answer is passed over for the next')
      assert.equal(renewer.identity.identity.hostId, local.identity.hostId)
      assert.notEqual(renewer.identity.certPem, local.certPem)
      assert.equal(renewer.identity.keyPem, local.keyPem, 'the key stays')
      const onDisk = await readIdentity(identityDir)
      assert.equal(onDisk?.certPem, renewer.identity.certPem)
    } finally {
      await renewer.stop()
    }
  })

  it('keeps its CA in the database across a restart', async () => {
    const pin = manager.clusterCa.pin
    await manager.stop()
    manager = new Manager(config, { logger: silentLogger() })
    await manager.start()
    assert.equal(manager.clusterCa.pin, pin)
    assert.equal(manager.identity?.identity.role, 'manager')
  })
})
