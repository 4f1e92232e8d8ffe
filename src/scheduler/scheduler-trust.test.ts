import assert from 'node:assert/strict'
import { X509Certificate } from 'node:crypto'
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { credentials, status, type ChannelCredentials, type ServiceError } from '@grpc/grpc-js'
import { systemClock } from '../common/clock.js'
import { silentLogger } from '../common/logger.js'
import { assertRejectsCode } from '../protocol/damselfly-error-fixtures.js'
import {
  HostSelection_Scope, SchedulerServiceClient, TaskState, type AnnounceHostResponse, type AnnouncePeerResponse, type Host, type RunDownloadsEvent,
  type RunDownloadsRequest,
} from '../protocol/generated/damselfly/scheduler/v1/scheduler.js'
import { SCHEDULER_PROTOCOL_REVISION } from '../protocol/scheduler-protocol.js'
import { taskIdFor } from '../protocol/task-id.js'
import { CapabilityVerifier } from '../security/capability.js'
import { loadClusterPki, PKI_FILES, type ClusterPki } from '../security/cluster-pki.js'
import { SCHEDULER_CHANNEL_OPTIONS, schedulerChannelCredentials } from '../security/grpc-tls.js'
import { joinCluster } from '../security/join-client.js'
import { JoinTokenStore, parseJoinToken } from '../security/join-tokens.js'
import { writeIdentity, type LocalIdentity } from '../security/local-identity.js'
import type { RevocationList } from '../security/revocation-watcher.js'
import { testCa, testIdentity } from '../security/security-fixtures.js'
import { resolveSchedulerConfig } from './config.js'
import { download, waitFor } from './resource-fixtures.js'
import { Scheduler } from './scheduler.js'

const TEST = { timeout: 20_000 }

function hostOf(local: LocalIdentity, extra: Partial<Host> = {}): Host {
  return {
    id: local.identity.hostId, ip: '127.0.0.1', hostname: local.identity.hostname, uploadPort: 65002, idc: '', location: '',
    seed: local.identity.role === 'seed', disableShared: false, concurrentUploadLimit: 10, concurrentUploadCount: 0, uploadCapacityBytesPerSecond: 0, uploadTls: true,
    ...extra,
  }
}

/** Announces `host` on a new stream and resolves with the stream's failure, or undefined once the scheduler knows the host. */
async function announce(scheduler: Scheduler, client: SchedulerServiceClient, host: Host, received: AnnounceHostResponse[] = []): Promise<ServiceError | undefined> {
  const stream = client.announceHost()
  let failure: ServiceError | undefined
  stream.on('error', (error: ServiceError) => (failure = error))
  stream.on('data', (message: AnnounceHostResponse) => received.push(message))
  stream.write({ host, report: undefined })
  return waitFor(`announce of ${host.id}`, () => failure ?? (scheduler.store.hosts.get(host.id as never)?.stream === undefined ? undefined : null)) 
    .then((value) => value ?? undefined)
}

describe('scheduler trust: who may announce, register, receive seed tasks and join', TEST, () => {
  let dir = ''
  let scheduler!: Scheduler
  let pki!: ClusterPki
  let address = ''
  const clients: SchedulerServiceClient[] = []

  function client(creds: ChannelCredentials): SchedulerServiceClient {
    const made = new SchedulerServiceClient(address, creds, SCHEDULER_CHANNEL_OPTIONS)
    clients.push(made)
    return made
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'scheduler-trust-'))
    const config = resolveSchedulerConfig({
      flags: {
        server: { listenIP: '127.0.0.1', port: 0 },
        metrics: { port: 0 },
        scheduler: { retryInterval: '20ms' },
        security: { pkiDir: join(dir, 'pki') },
      },
    })
    scheduler = new Scheduler(config, { logger: silentLogger() })
    await scheduler.start()
    address = scheduler.address ?? ''
    pki = await loadClusterPki(join(dir, 'pki'))
  })

  after(async () => {
    for (const made of clients) made.close()
    await scheduler.stop()
    await rm(dir, { recursive: true, force: true })
  })

  it('refuses every call of a caller without a certificate from the cluster CA', TEST, async () => {
    const foreign = await testIdentity(await testCa('Foreign CA'), 'seed')
    const trustAnyName = { checkServerIdentity: () => undefined }
    const callers: Array<[string, ChannelCredentials]> = [
      ['no certificate', credentials.createSsl(Buffer.from(pki.signer.certPem), null, null, trustAnyName)],
      ['another CA\'s certificate', credentials.createSsl(Buffer.from(pki.signer.certPem), Buffer.from(foreign.keyPem), Buffer.from(foreign.certPem), trustAnyName)],
    ]
    for (const [name, creds] of callers) {
      const rogue = client(creds)
      const failure = await announce(scheduler, rogue, hostOf(foreign))
      assert.equal(failure?.code, status.UNAUTHENTICATED, name)
      const peer = rogue.announcePeer()
      const peerFailure = new Promise<ServiceError>((resolve) => peer.on('error', resolve))
      peer.write({ hostId: foreign.identity.hostId, taskId: taskIdFor({ url: 'http://origin.test/x', filteredQueryParams: [] }), peerId: 'p', request: { $case: 'register', value: { download: download({ url: 'http://origin.test/x' }), pieces: [], contentLength: 0, contentLengthKnown: false, protocolRevision: SCHEDULER_PROTOCOL_REVISION } } })
      assert.equal((await peerFailure).code, status.UNAUTHENTICATED, name)
      const left = await new Promise<ServiceError | null>((resolve) => rogue.leaveHost({ hostId: foreign.identity.hostId }, (error) => resolve(error)))
      assert.equal(left?.code, status.UNAUTHENTICATED, name)
    }
    const plain = client(credentials.createInsecure())
    const failure = await announce(scheduler, plain, hostOf(foreign))
    assert.equal(failure?.code, status.UNAVAILABLE, 'a plaintext caller does not even connect')
    assert.equal(scheduler.store.hosts.size, 0)
  })

  it('refuses a host of the cluster that claims another id, another address, or a seed role it does not hold', TEST, async () => {
    const normal = await testIdentity(pki.signer, 'normal')
    const other = await testIdentity(pki.signer, 'normal')
    const schedulerCert = await testIdentity(pki.signer, 'scheduler')
    const cases: Array<[string, LocalIdentity, Host, RegExp]> = [
      ['seed claim', normal, hostOf(normal, { seed: true }), /only a host with a seed certificate/],
      ['another id', normal, hostOf(other), /certificate is for host/],
      ['another address', normal, hostOf(normal, { ip: '10.9.9.9' }), /certificate is for 127\.0\.0\.1, not 10\.9\.9\.9/],
      ['a scheduler as a host', schedulerCert, hostOf(schedulerCert), /does not belong to a host/],
    ]
    for (const [name, local, host, message] of cases) {
      const failure = await announce(scheduler, client(schedulerChannelCredentials(local)), host)
      assert.equal(failure?.code, status.PERMISSION_DENIED, name)
      assert.match(failure.details, message, name)
    }
    // Nor may it register peers as another host.
    const own = client(schedulerChannelCredentials(normal))
    assert.equal(await announce(scheduler, own, hostOf(normal)), undefined)
    const peer = own.announcePeer()
    const failure = new Promise<ServiceError>((resolve) => peer.on('error', resolve))
    peer.write({ hostId: other.identity.hostId, taskId: taskIdFor({ url: 'http://origin.test/y', filteredQueryParams: [] }), peerId: 'p', request: { $case: 'register', value: { download: download({ url: 'http://origin.test/y' }), pieces: [], contentLength: 0, contentLengthKnown: false, protocolRevision: SCHEDULER_PROTOCOL_REVISION } } })
    assert.equal((await failure).code, status.PERMISSION_DENIED)
  })

  it('judges every stream by its own connection\'s certificate, however many came before on it', TEST, async () => {
    const host = await testIdentity(pki.signer, 'normal')
    const other = await testIdentity(pki.signer, 'normal')
    const schedulerCert = await testIdentity(pki.signer, 'scheduler')
    const impostor = client(schedulerChannelCredentials(schedulerCert))
    const own = client(schedulerChannelCredentials(host))
    const register = (on: SchedulerServiceClient, hostId: string, peerId: string): Promise<ServiceError | undefined> => {
      const peer = on.announcePeer()
      const url = `http://origin.test/${peerId}`
      const outcome = new Promise<ServiceError | undefined>((resolve) => {
        peer.on('error', resolve)
        peer.on('data', (message: AnnouncePeerResponse) => {
          if (message.response?.$case !== 'registered') return
          peer.cancel()
          resolve(undefined)
        })
      })
      peer.write({ hostId, taskId: taskIdFor({ url, filteredQueryParams: [] }), peerId, request: { $case: 'register', value: { download: download({ url }), pieces: [], contentLength: 0, contentLengthKnown: false, protocolRevision: SCHEDULER_PROTOCOL_REVISION } } })
      return outcome
    }
    // Streams alternate between the two connections: what one connection's certificate says never serves the other.
    for (let round = 0; round < 3; round++) {
      assert.equal((await announce(scheduler, impostor, hostOf(schedulerCert)))?.code, status.PERMISSION_DENIED, `a scheduler as a host, round ${round}`)
      assert.equal(await announce(scheduler, own, hostOf(host)), undefined, `the host itself, round ${round}`)
      assert.equal(await register(own, host.identity.hostId, `own-${round}`), undefined, `its own peer, round ${round}`)
      assert.equal((await register(own, other.identity.hostId, `other-${round}`))?.code, status.PERMISSION_DENIED, `another host's peer, round ${round}`)
      assert.equal((await register(impostor, host.identity.hostId, `impostor-${round}`))?.code, status.PERMISSION_DENIED, `a peer of the host from the scheduler's connection, round ${round}`)
    }
  })

  it('sends seed tasks, with the client\'s credentials, to seed certificates only, and a capability with every parent offer', TEST, async () => {
    const seed = await testIdentity(pki.signer, 'seed')
    const child = await testIdentity(pki.signer, 'normal')
    const seedCommands: AnnounceHostResponse[] = []
    assert.equal(await announce(scheduler, client(schedulerChannelCredentials(seed)), hostOf(seed), seedCommands), undefined)
    const childClient = client(schedulerChannelCredentials(child))
    const normalCommands: AnnounceHostResponse[] = []
    assert.equal(await announce(scheduler, childClient, hostOf(child), normalCommands), undefined)
    const url = 'http://origin.test/private-layer'
    const taskId = taskIdFor({ url, filteredQueryParams: [] })
    const peer = childClient.announcePeer()
    const responses: AnnouncePeerResponse[] = []
    peer.on('data', (message: AnnouncePeerResponse) => responses.push(message))
    peer.write({ hostId: child.identity.hostId, taskId, peerId: 'child-peer', request: { $case: 'register', value: { download: download({ url, headers: { authorization: 'Basic c2VjcmV0' } }), pieces: [], contentLength: 0, contentLengthKnown: false, protocolRevision: SCHEDULER_PROTOCOL_REVISION } } })
    const command = await waitFor('seed task', () => seedCommands.find((message) => message.command?.$case === 'seedTask'))
    assert.equal(command.command?.$case === 'seedTask' ? command.command.value.headers.authorization : undefined, 'Basic c2VjcmV0')
    assert.equal(normalCommands.length, 0, 'a normal host never sees a seed task')
    // The seed registers, fetches piece 0 from the source, and is offered to the child with a capability.
    const seedClient = client(schedulerChannelCredentials(seed))
    const seedPeer = seedClient.announcePeer()
    seedPeer.on('data', () => undefined)
    seedPeer.write({ hostId: seed.identity.hostId, taskId, peerId: 'seed-peer', request: { $case: 'register', value: { download: download({ url }), pieces: [], contentLength: 0, contentLengthKnown: false, protocolRevision: SCHEDULER_PROTOCOL_REVISION } } })
    await waitFor('seed peer', () => scheduler.store.peers.get('seed-peer' as never))
    seedPeer.write({ hostId: seed.identity.hostId, taskId, peerId: 'seed-peer', request: { $case: 'backToSourceStarted', value: { contentLength: 4, contentLengthKnown: true, pieceLength: 4 } } })
    seedPeer.write({ hostId: seed.identity.hostId, taskId, peerId: 'seed-peer', request: { $case: 'piecesFinished', value: { pieces: [{ piece: { number: 0, offset: 0, length: 4, digest: 'd'.repeat(64) }, parentPeerId: '', costMs: 1, content: Buffer.alloc(0) }] } } })
    const offer = await waitFor('parents', () => responses.find((message) => message.response?.$case === 'normalTask'))
    assert.equal(offer.response?.$case, 'normalTask')
    const capability = offer.response.value.capability
    const claims = new CapabilityVerifier({ caCert: new X509Certificate(pki.signer.certPem), clock: systemClock }).verify(capability, taskId)
    assert.equal(claims.hostId, child.identity.hostId)
    assert.deepEqual(claims.publicKeySpki, child.identity.publicKeySpki)
    assert.equal(claims.peerId, 'child-peer')
    for (const stream of [peer, seedPeer]) stream.end()
  })

  it('trades a join token for a certificate of its role, once per use, after the CA matched the token\'s pin', TEST, async () => {
    const tokens = new JoinTokenStore({ clock: systemClock }, { dir: join(pki.dir, PKI_FILES.tokens) })
    const { token } = await tokens.create({ role: 'seed', ttlMs: 60_000, uses: 1, pin: pki.pin })
    const joined = await joinCluster({ address, token, hostname: 'joiner', ips: ['127.0.0.1'], timeoutMs: 5_000 })
    assert.equal(joined.identity.role, 'seed')
    assert.equal(await announce(scheduler, client(schedulerChannelCredentials(joined)), hostOf(joined)), undefined)
    await assertRejectsCode(joinCluster({ address, token, hostname: 'again', ips: ['127.0.0.1'], timeoutMs: 5_000 }), 'PERMISSION_DENIED', /unknown/)
    // A token whose pin names another CA is never sent: its use is still there afterwards.
    const second = await tokens.create({ role: 'normal', ttlMs: 60_000, uses: 1, pin: pki.pin })
    const parsed = parseJoinToken(second.token)
    const wrongPin = `dfj1.${parsed.id}.${parsed.secret}.${'A'.repeat(43)}`
    await assertRejectsCode(joinCluster({ address, token: wrongPin, hostname: 'mitm', ips: ['127.0.0.1'], timeoutMs: 5_000 }), 'PERMISSION_DENIED', /not the one the join token names/)
    assert.equal((await tokens.list()).find((summary) => summary.id === parsed.id)?.usesLeft, 1)
  })
})

/** A RunDownloads request for one download on every host of `scope`. */
function runRequest(url: string, scope = HostSelection_Scope.SCOPE_ALL_PEERS): RunDownloadsRequest {
  return {
    jobId: 'job', downloads: [download({ url })], selection: { scope, hosts: [], count: 0, percentage: 0 },
    rateLimitBytesPerSecond: 0, outputPath: '', progressIntervalMs: 0,
  }
}

/** Runs `request` to its end: the events received, and the status it failed with (null for OK). */
function runDownloads(client: SchedulerServiceClient, request: RunDownloadsRequest): Promise<{ events: RunDownloadsEvent[]; error: ServiceError | null }> {
  const events: RunDownloadsEvent[] = []
  const call = client.runDownloads(request)
  return new Promise((resolve) => {
    call.on('data', (event: RunDownloadsEvent) => events.push(event))
    call.on('end', () => resolve({ events, error: null }))
    call.on('error', (error: ServiceError) => resolve({ events, error }))
  })
}

function statTask(client: SchedulerServiceClient, taskId: string): Promise<ServiceError | null> {
  return new Promise((resolve) => client.statTask({ taskId, timeoutMs: 100 }, (error) => resolve(error)))
}

function deleteTask(client: SchedulerServiceClient, taskId: string): Promise<ServiceError | null> {
  return new Promise((resolve) => client.deleteTask({ taskId, timeoutMs: 100 }, (error) => resolve(error)))
}

function taskSwarm(client: SchedulerServiceClient, taskId: string): Promise<ServiceError | null> {
  return new Promise((resolve) => client.getTaskSwarm({ taskId }, (error) => resolve(error)))
}

function clusterStats(client: SchedulerServiceClient): Promise<ServiceError | null> {
  return new Promise((resolve) => client.getClusterStats({}, (error) => resolve(error)))
}

describe('scheduler trust: the manager\'s jobs', TEST, () => {
  let dir = ''
  let scheduler!: Scheduler
  let pki!: ClusterPki
  const clients: SchedulerServiceClient[] = []
  const client = (creds: ChannelCredentials): SchedulerServiceClient => {
    const made = new SchedulerServiceClient(scheduler.address ?? '', creds, SCHEDULER_CHANNEL_OPTIONS)
    clients.push(made)
    return made
  }
  const url = 'http://origin.test/preheated'
  const taskId = taskIdFor({ url, filteredQueryParams: [] })

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'scheduler-jobs-trust-'))
    const config = resolveSchedulerConfig({ flags: { server: { listenIP: '127.0.0.1', port: 0 }, metrics: { port: 0 }, security: { pkiDir: join(dir, 'pki') } } })
    scheduler = new Scheduler(config, { logger: silentLogger() })
    await scheduler.start()
    pki = await loadClusterPki(join(dir, 'pki'))
  })

  after(async () => {
    for (const made of clients) made.close()
    await scheduler.stop()
    await rm(dir, { recursive: true, force: true })
  })

  it('refuses RunDownloads, StatTask, DeleteTask, GetTaskSwarm and GetClusterStats to every certificate but a manager\'s, and to callers without one', TEST, async () => {
    for (const role of ['normal', 'seed', 'scheduler'] as const) {
      const caller = client(schedulerChannelCredentials(await testIdentity(pki.signer, role)))
      const run = await runDownloads(caller, runRequest(url))
      assert.equal(run.error?.code, status.PERMISSION_DENIED, role)
      assert.match(run.error.details, new RegExp(`only a manager may ask this; the caller's certificate is for role ${role}`))
      assert.deepEqual(run.events, [])
      assert.equal((await statTask(caller, taskId))?.code, status.PERMISSION_DENIED, role)
      assert.equal((await deleteTask(caller, taskId))?.code, status.PERMISSION_DENIED, role)
      assert.equal((await taskSwarm(caller, taskId))?.code, status.PERMISSION_DENIED, role)
      assert.equal((await clusterStats(caller))?.code, status.PERMISSION_DENIED, role)
    }
    const anonymous = client(credentials.createSsl(Buffer.from(pki.signer.certPem), null, null, { checkServerIdentity: () => undefined }))
    assert.equal((await runDownloads(anonymous, runRequest(url))).error?.code, status.UNAUTHENTICATED)
    assert.equal((await statTask(anonymous, taskId))?.code, status.UNAUTHENTICATED)
    assert.equal((await deleteTask(anonymous, taskId))?.code, status.UNAUTHENTICATED)
    assert.equal((await taskSwarm(anonymous, taskId))?.code, status.UNAUTHENTICATED)
    assert.equal((await clusterStats(anonymous))?.code, status.UNAUTHENTICATED)
    const manager = client(schedulerChannelCredentials(await testIdentity(pki.signer, 'manager')))
    assert.equal(await clusterStats(manager), null, 'a manager is answered')
    assert.equal((await taskSwarm(manager, taskId))?.code, status.NOT_FOUND, 'a task the scheduler does not know')
  })

  it('runs a manager\'s downloads on the hosts, and answers its stat', TEST, async () => {
    const host = await testIdentity(pki.signer, 'normal')
    const stream = client(schedulerChannelCredentials(host)).announceHost()
    stream.on('error', () => undefined)
    stream.on('data', (message: AnnounceHostResponse) => {
      const command = message.command
      if (command?.$case === 'downloadTask') {
        stream.write({ host: undefined, report: { $case: 'downloadTaskOutcome', value: { requestId: command.value.requestId, taskId, success: true, code: '', reason: '', contentLength: 1, totalPieces: 1, costMs: 1 } } })
      } else if (command?.$case === 'statTask') {
        stream.write({ host: undefined, report: { $case: 'taskStat', value: { ...command.value, state: TaskState.TASK_STATE_SUCCEEDED, contentLength: 1, finishedPieces: 1, totalPieces: 1, createdAtMs: 0, updatedAtMs: 0 } } })
      }
    })
    stream.write({ host: hostOf(host), report: undefined })
    await waitFor('host announced', () => scheduler.store.hosts.get(host.identity.hostId as never)?.stream)
    try {
      const manager = client(schedulerChannelCredentials(await testIdentity(pki.signer, 'manager')))
      const run = await runDownloads(manager, runRequest(url))
      assert.equal(run.error, null)
      const outcome = run.events.at(-1)?.event
      assert.equal(outcome?.$case, 'outcome')
      assert.equal(outcome.value.host?.hostId, host.identity.hostId)
      assert.equal(outcome.value.outcome?.success, true)
      const stat = await new Promise<ServiceError | null>((resolve) => manager.statTask({ taskId, timeoutMs: 5_000 }, (error) => resolve(error)))
      assert.equal(stat, null)
    } finally {
      stream.cancel()
    }
  })
})

/** A revocation list a test revokes from by hand, as a manager's list would change. */
class TestRevocations implements RevocationList {
  private readonly revoked = new Set<string>()
  private readonly listeners = new Set<(hostIds: readonly string[]) => void>()

  isRevoked(hostId: string): boolean {
    return this.revoked.has(hostId)
  }

  onRevoked(listener: (hostIds: readonly string[]) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  revoke(hostId: string): void {
    this.revoked.add(hostId)
    for (const listener of this.listeners) listener([hostId])
  }
}

describe('scheduler trust: revoked hosts', TEST, () => {
  let dir = ''
  let scheduler!: Scheduler
  let pki!: ClusterPki
  const revocations = new TestRevocations()
  const clients: SchedulerServiceClient[] = []

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'scheduler-revoked-'))
    const config = resolveSchedulerConfig({ flags: { server: { listenIP: '127.0.0.1', port: 0 }, metrics: { port: 0 }, security: { pkiDir: join(dir, 'pki') } } })
    scheduler = new Scheduler(config, { logger: silentLogger(), revocations })
    await scheduler.start()
    pki = await loadClusterPki(join(dir, 'pki'))
  })

  after(async () => {
    for (const made of clients) made.close()
    await scheduler.stop()
    await rm(dir, { recursive: true, force: true })
  })

  it('ends the streams of a host the moment it is revoked, forgets it, and refuses it from then on', TEST, async () => {
    const host = await testIdentity(pki.signer, 'normal')
    const bystander = await testIdentity(pki.signer, 'normal', ['127.0.0.2'])
    const made = (local: LocalIdentity): SchedulerServiceClient => {
      const client = new SchedulerServiceClient(scheduler.address ?? '', schedulerChannelCredentials(local), SCHEDULER_CHANNEL_OPTIONS)
      clients.push(client)
      return client
    }
    const stream = made(host).announceHost()
    const ended = new Promise<ServiceError>((resolve) => stream.on('error', resolve))
    stream.on('data', () => undefined)
    stream.write({ host: hostOf(host), report: undefined })
    await waitFor('host announced', () => scheduler.store.hosts.get(host.identity.hostId as never)?.stream)
    assert.equal(await announce(scheduler, made(bystander), hostOf(bystander, { ip: '127.0.0.2' })), undefined)

    revocations.revoke(host.identity.hostId)
    const failure = await ended
    assert.equal(failure.code, status.PERMISSION_DENIED)
    assert.match(failure.details, /revoked/)
    assert.equal(scheduler.store.hosts.has(host.identity.hostId as never), false, 'the revoked host is forgotten')
    assert.equal(scheduler.store.hosts.has(bystander.identity.hostId as never), true, 'and no other')

    const again = await announce(scheduler, made(host), hostOf(host))
    assert.equal(again?.code, status.PERMISSION_DENIED)
    assert.match(again.details, /is revoked/)
  })

  it('refuses the jobs of a revoked manager', TEST, async () => {
    const manager = await testIdentity(pki.signer, 'manager')
    const client = new SchedulerServiceClient(scheduler.address ?? '', schedulerChannelCredentials(manager), SCHEDULER_CHANNEL_OPTIONS)
    clients.push(client)
    const url = 'http://origin.test/after-revocation'
    // No seed peer is connected: allowed, the call ends with no host to run on.
    const before = await runDownloads(client, runRequest(url, HostSelection_Scope.SCOPE_ALL_SEED_PEERS))
    assert.equal(before.error?.code, status.NOT_FOUND)
    revocations.revoke(manager.identity.hostId)
    const refused = await runDownloads(client, runRequest(url, HostSelection_Scope.SCOPE_ALL_SEED_PEERS))
    assert.equal(refused.error?.code, status.PERMISSION_DENIED)
    assert.match(refused.error.details, /is revoked/)
    assert.equal((await statTask(client, taskIdFor({ url, filteredQueryParams: [] })))?.code, status.PERMISSION_DENIED)
  })
})

describe('scheduler trust: a certificate from a manager', TEST, () => {
  it('schedules with a scheduler certificate another CA holder issued, holds no CA and serves no joins', TEST, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'scheduler-identity-'))
    const ca = await testCa('Manager CA')
    const own = await testIdentity(ca, 'scheduler')
    await writeIdentity(join(dir, 'identity'), own)
    const config = resolveSchedulerConfig({ flags: { server: { listenIP: '127.0.0.1', port: 0 }, metrics: { port: 0 }, security: { pkiDir: join(dir, 'pki'), identityDir: join(dir, 'identity') } } })
    const scheduler = new Scheduler(config, { logger: silentLogger() })
    await scheduler.start()
    const host = await testIdentity(ca, 'normal')
    const client = new SchedulerServiceClient(scheduler.address ?? '', schedulerChannelCredentials(host), SCHEDULER_CHANNEL_OPTIONS)
    try {
      assert.equal(await announce(scheduler, client, hostOf(host)), undefined, 'a host of the same CA is served')
      await assert.rejects(readdir(join(dir, 'pki')), /ENOENT/, 'no CA of its own')
      await assertRejectsCode(joinCluster({ address: scheduler.address ?? '', token: `dfj1.abcdef.${'a'.repeat(22)}.${'A'.repeat(43)}`, hostname: 'j', ips: ['127.0.0.1'], timeoutMs: 5_000 }), 'SCHEDULER_UNAVAILABLE', /serves no joins \(a manager holds this cluster's CA/)
    } finally {
      client.close()
      await scheduler.stop()
      await rm(dir, { recursive: true, force: true })
    }
    const wrong = await mkdtemp(join(tmpdir(), 'scheduler-identity-'))
    try {
      await writeIdentity(join(wrong, 'identity'), await testIdentity(ca, 'seed'))
      const config = resolveSchedulerConfig({ flags: { server: { listenIP: '127.0.0.1', port: 0 }, metrics: { port: 0 }, security: { identityDir: join(wrong, 'identity') } } })
      await assertRejectsCode(new Scheduler(config, { logger: silentLogger() }).start(), 'CONFIG_INVALID', /role seed, not scheduler/)
    } finally {
      await rm(wrong, { recursive: true, force: true })
    }
  })
})
