import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { status as GrpcStatus } from '@grpc/grpc-js'
import type { ClusterStats, StatsBucket, SwarmPeer, TaskSwarm } from '../../protocol/generated/damselfly/scheduler/v1/scheduler.js'
import { TEST_DIALECTS } from '../db/database-fixtures.js'
import type { LiveScheduler } from '../live/live-schedulers.js'
import { call, ROOT_PASSWORD, signin, startApi, userWith, type TestApi } from './api-fixtures.js'

const TASK = 'c'.repeat(64)
const MINUTE_MS = 60_000

function bucket(startMs: number, fields: Partial<StatsBucket> = {}): StatsBucket {
  return {
    startMs, bytesFromPeers: 0, bytesFromSeedPeers: 0, bytesFromOrigin: 0, tasksStarted: 0, tasksFinished: 0,
    peersStarted: 0, peersFinished: 0, peersFailed: 0, backToSource: [], ...fields,
  }
}

function swarmPeer(id: string, fields: Partial<SwarmPeer> = {}): SwarmPeer {
  return {
    id, hostId: `host-${id}`, hostname: id, ip: '10.0.0.1', seed: false, state: 'running', finishedPieces: 0, bytesFromPeers: 0, bytesFromOrigin: 0,
    uploadedBytes: 0, rateBytesPerSecond: 0, backToSourceReason: '', createdAtMs: 1_767_225_600_000, updatedAtMs: 1_767_225_600_000, ...fields,
  }
}

function swarm(fields: Partial<TaskSwarm> = {}): TaskSwarm {
  return {
    taskId: TASK, url: 'https://files.example/big.iso', contentLength: 8_000, pieceLength: 4_000, totalPieces: 2, updatedAtMs: 1_767_225_600_000,
    peers: [swarmPeer('seed', { seed: true, state: 'succeeded', finishedPieces: 2, bytesFromOrigin: 8_000, uploadedBytes: 4_000, backToSourceReason: 'seed_peer' }), swarmPeer('child', { finishedPieces: 1, bytesFromPeers: 4_000, rateBytesPerSecond: 800 })],
    edges: [{ parent: 'seed', child: 'child', bytes: 4_000, pieces: 1, active: true }],
    truncated: false, bytesFromPeers: 4_000, bytesFromOrigin: 8_000, bytesFromSeedPeers: 4_000, ...fields,
  }
}

function grpcError(code: number): Error {
  return Object.assign(new Error(`status ${code}`), { code })
}

/** A scheduler that answers what the test says, without a socket. */
function fakeScheduler(id: number, clusterId: number, answers: { stats?: () => ClusterStats; swarm?: () => TaskSwarm }): LiveScheduler {
  return {
    id, clusterId, hostname: `sched-${id}`, ip: `10.9.0.${id}`, address: `10.9.0.${id}:8002`,
    clusterStats: () => (answers.stats === undefined ? Promise.reject(grpcError(GrpcStatus.UNAVAILABLE)) : Promise.resolve(answers.stats())),
    taskSwarm: () => (answers.swarm === undefined ? Promise.reject(grpcError(GrpcStatus.NOT_FOUND)) : Promise.resolve(answers.swarm())),
  }
}

async function readerWithout(api: TestApi, root: string, object: string): Promise<string> {
  const role = `no-${object}`
  const created = await call(api.app, { method: 'POST', url: '/api/v1/roles', token: root, body: { role, permissions: [{ object: object === 'cluster' ? 'audit' : 'cluster', action: 'read' }] } })
  assert.equal(created.statusCode, 201, created.body)
  return (await userWith(api, root, `user-${object}`, [role])).token
}

for (const dialect of TEST_DIALECTS) {
  describe(`console data API on ${dialect}`, { timeout: 120_000 }, () => {
    it('counts each cluster\'s active schedulers, seed peers and hosts, and hosts by version', { timeout: 60_000 }, async (t) => {
      const api = await startApi(t, dialect)
      const root = await signin(api.app, 'root', ROOT_PASSWORD)
      const east = (await call(api.app, { method: 'POST', url: '/api/v1/clusters', token: root, body: { name: 'east' } })).json<{ id: number }>()
      const db = api.test.database.db
      const now = api.clock.nowMs()
      const member = { port: 8002, idc: '', location: '', host_id: '', state: 'active' as const, last_keepalive_at_ms: now, created_at_ms: now, updated_at_ms: now }
      await db.insertInto('schedulers').values([
        { ...member, cluster_id: east.id, hostname: 's1', ip: '10.1.0.1', features: '[]' },
        { ...member, cluster_id: east.id, hostname: 's2', ip: '10.1.0.2', features: '[]', state: 'inactive' },
        { ...member, cluster_id: 1, hostname: 's3', ip: '10.2.0.1', features: '[]' },
      ]).execute()
      await db.insertInto('seed_peers').values([
        { ...member, cluster_id: east.id, hostname: 'seed-1', ip: '10.1.0.9', type: 'super' },
        { ...member, cluster_id: east.id, hostname: 'seed-2', ip: '10.1.0.10', type: 'super' },
      ]).execute()
      const host = { port: 65002, idc: '', location: '', os: 'linux', created_at_ms: now, updated_at_ms: now, last_seen_at_ms: now }
      await db.insertInto('hosts').values([
        { ...host, host_id: 'h1', cluster_id: east.id, hostname: 'n1', ip: '10.1.3.1', version: '0.1.0', type: 'normal' },
        { ...host, host_id: 'h2', cluster_id: east.id, hostname: 'n2', ip: '10.1.3.2', version: '0.2.0', type: 'normal' },
        { ...host, host_id: 'h3', cluster_id: east.id, hostname: 'n3', ip: '10.1.3.3', version: '0.2.0', type: 'normal' },
        { ...host, host_id: 'h4', cluster_id: east.id, hostname: 'seed-1', ip: '10.1.0.9', version: '0.1.0', type: 'seed' },
        { ...host, host_id: 'h5', cluster_id: 1, hostname: 'w1', ip: '10.2.3.1', version: '0.0.9', type: 'normal' },
      ]).execute()

      const guest = await userWith(api, root, 'visitor', ['guest'])
      const listed = await call(api.app, { method: 'GET', url: '/api/v1/clusters', token: guest.token })
      assert.equal(listed.statusCode, 200, listed.body)
      assert.deepEqual(listed.json<Array<{ name: string; members: unknown }>>().map((cluster) => [cluster.name, cluster.members]), [
        ['cluster-1', { active_schedulers: 1, active_seed_peers: 0, hosts: 1 }],
        ['east', { active_schedulers: 1, active_seed_peers: 2, hosts: 4 }],
      ])
      const one = await call(api.app, { method: 'GET', url: `/api/v1/clusters/${east.id}`, token: guest.token })
      assert.deepEqual(one.json<{ members: unknown }>().members, { active_schedulers: 1, active_seed_peers: 2, hosts: 4 })

      const versions = async (query: string, token = guest.token): Promise<unknown> => {
        const response = await call(api.app, { method: 'GET', url: `/api/v1/hosts/versions${query}`, token })
        assert.equal(response.statusCode, 200, response.body)
        return response.json()
      }
      assert.deepEqual(await versions(''), [{ version: '0.1.0', count: 2 }, { version: '0.2.0', count: 2 }, { version: '0.0.9', count: 1 }], 'by count, then version')
      assert.deepEqual(await versions(`?cluster_id=${east.id}&type=normal`), [{ version: '0.2.0', count: 2 }, { version: '0.1.0', count: 1 }])
      assert.deepEqual(await versions('?type=seed'), [{ version: '0.1.0', count: 1 }])
      const noHostRead = await readerWithout(api, root, 'host')
      assert.equal((await call(api.app, { method: 'GET', url: '/api/v1/hosts/versions', token: noHostRead })).statusCode, 403)
      assert.equal((await call(api.app, { method: 'GET', url: '/api/v1/hosts/versions' })).statusCode, 401)
    })

    it('sums the last hour of the cluster\'s schedulers by minute, leaving out those that do not answer or answer nonsense', { timeout: 60_000 }, async (t) => {
      const minute = Date.parse('2026-01-01T00:00:00Z')
      const schedulers: LiveScheduler[] = [
        fakeScheduler(1, 1, { stats: () => ({ bucketSeconds: 60, buckets: [
          bucket(minute - 59 * MINUTE_MS, { bytesFromPeers: 100, backToSource: [{ reason: 'seed_peer', count: 1 }] }),
          bucket(minute - 60 * MINUTE_MS, { bytesFromPeers: 1_000_000 }),
          bucket(minute, { bytesFromPeers: 10, bytesFromSeedPeers: 4, bytesFromOrigin: 7, tasksStarted: 1, tasksFinished: 1, peersStarted: 2, peersFinished: 1, peersFailed: 1, backToSource: [{ reason: 'no_parent', count: 2 }] }),
        ] }) }),
        fakeScheduler(2, 1, { stats: () => ({ bucketSeconds: 60, buckets: [bucket(minute, { bytesFromPeers: 5, backToSource: [{ reason: 'no_parent', count: 1 }, { reason: 'seed_peer', count: 1 }] })] }) }),
        fakeScheduler(3, 1, {}),
        fakeScheduler(4, 1, { stats: () => ({ bucketSeconds: 60, buckets: [bucket(minute + 1, { bytesFromPeers: 1 })] }) }),
      ]
      const api = await startApi(t, dialect, { liveSchedulers: { alive: (clusterId) => Promise.resolve(schedulers.filter((s) => clusterId === undefined || s.clusterId === clusterId)) } })
      const root = await signin(api.app, 'root', ROOT_PASSWORD)
      api.clock.advance(30_000)
      const guest = await userWith(api, root, 'visitor', ['guest'])
      const response = await call(api.app, { method: 'GET', url: '/api/v1/clusters/1/overview', token: guest.token })
      assert.equal(response.statusCode, 200, response.body)
      const overview = response.json<{ cluster_id: number; window: { from: string; to: string; bucket_seconds: number }; schedulers: unknown; totals: Record<string, unknown>; buckets: Array<Record<string, unknown>> }>()
      assert.equal(overview.cluster_id, 1)
      assert.deepEqual(overview.window, { from: new Date(minute - 59 * MINUTE_MS).toISOString(), to: new Date(minute + 30_000).toISOString(), bucket_seconds: 60 })
      assert.deepEqual(overview.schedulers, { asked: 4, answered: 2 }, 'one did not answer, one answered a minute that starts nowhere')
      assert.deepEqual(overview.totals, {
        bytes_from_peers: 115, bytes_from_origin: 7, bytes_from_seed_peers: 4, tasks_started: 1, tasks_finished: 1, peers_started: 2, peers_finished: 1, peers_failed: 1,
        back_to_source: 5, back_to_source_reasons: [{ reason: 'no_parent', count: 3 }, { reason: 'seed_peer', count: 2 }],
      }, 'the minute older than the hour is left out')
      assert.equal(overview.buckets.length, 60)
      assert.deepEqual([overview.buckets[0]?.['at'], overview.buckets[0]?.['bytes_from_peers'], overview.buckets[0]?.['back_to_source']], [new Date(minute - 59 * MINUTE_MS).toISOString(), 100, 1])
      assert.deepEqual([overview.buckets[59]?.['at'], overview.buckets[59]?.['bytes_from_peers'], overview.buckets[59]?.['back_to_source']], [new Date(minute).toISOString(), 15, 4])
      assert.ok(overview.buckets.slice(1, 59).every((b) => b['bytes_from_peers'] === 0), 'empty minutes are there, as zeros')
      assert.ok(api.logs.some((line) => line.includes('scheduler left out of the cluster overview') && line.includes('10.9.0.4:8002')))

      assert.equal((await call(api.app, { method: 'GET', url: '/api/v1/clusters/999/overview', token: root })).statusCode, 404)
      const noClusterRead = await readerWithout(api, root, 'cluster')
      assert.equal((await call(api.app, { method: 'GET', url: '/api/v1/clusters/1/overview', token: noClusterRead })).statusCode, 403)
      const empty = await startApi(t, dialect)
      const emptyRoot = await signin(empty.app, 'root', ROOT_PASSWORD)
      const none = (await call(empty.app, { method: 'GET', url: '/api/v1/clusters/1/overview', token: emptyRoot })).json<{ schedulers: unknown; totals: { bytes_from_peers: number } }>()
      assert.deepEqual([none.schedulers, none.totals.bytes_from_peers], [{ asked: 0, answered: 0 }, 0], 'no scheduler: an empty hour, not an error')
    })

    it('answers the swarm of the scheduler that holds the task, and 404 when none does', { timeout: 60_000 }, async (t) => {
      let answer: TaskSwarm | undefined = swarm()
      const schedulers: LiveScheduler[] = [
        fakeScheduler(1, 1, {}),
        fakeScheduler(2, 2, { swarm: () => answer ?? swarm() }),
      ]
      const asked: Array<number | undefined> = []
      const api = await startApi(t, dialect, { liveSchedulers: { alive: (clusterId) => {
        asked.push(clusterId)
        return Promise.resolve(schedulers.filter((s) => clusterId === undefined || s.clusterId === clusterId))
      } } })
      const root = await signin(api.app, 'root', ROOT_PASSWORD)
      const guest = await userWith(api, root, 'visitor', ['guest'])
      const response = await call(api.app, { method: 'GET', url: `/api/v1/tasks/${TASK}/swarm`, token: guest.token })
      assert.equal(response.statusCode, 200, response.body)
      assert.deepEqual(response.json(), {
        task_id: TASK, cluster_id: 2, scheduler: { id: 2, host_name: 'sched-2', ip: '10.9.0.2' },
        url: 'https://files.example/big.iso', content_length: 8_000, piece_length: 4_000, total_pieces: 2, updated_at: '2026-01-01T00:00:00.000Z',
        peers: [
          { id: 'seed', host_id: 'host-seed', hostname: 'seed', ip: '10.0.0.1', type: 'seed', state: 'succeeded', finished_pieces: 2, bytes_from_peers: 0, bytes_from_origin: 8_000, uploaded_bytes: 4_000, rate_bytes_per_second: 0, back_to_source_reason: 'seed_peer', created_at: '2026-01-01T00:00:00.000Z', updated_at: '2026-01-01T00:00:00.000Z' },
          { id: 'child', host_id: 'host-child', hostname: 'child', ip: '10.0.0.1', type: 'normal', state: 'running', finished_pieces: 1, bytes_from_peers: 4_000, bytes_from_origin: 0, uploaded_bytes: 0, rate_bytes_per_second: 800, back_to_source_reason: null, created_at: '2026-01-01T00:00:00.000Z', updated_at: '2026-01-01T00:00:00.000Z' },
        ],
        edges: [{ parent: 'seed', child: 'child', bytes: 4_000, pieces: 1, active: true }],
        totals: { bytes_from_peers: 4_000, bytes_from_origin: 8_000, bytes_from_seed_peers: 4_000 },
        truncated: false,
      })
      assert.deepEqual(asked, [undefined], 'without cluster_id, every cluster is asked')

      assert.equal((await call(api.app, { method: 'GET', url: `/api/v1/tasks/${TASK}/swarm?cluster_id=1`, token: guest.token })).statusCode, 404, 'the one of cluster 1 does not know it')
      answer = swarm({ edges: [{ parent: 'seed', child: 'stranger', bytes: 1, pieces: 1, active: false }] })
      const nonsense = await call(api.app, { method: 'GET', url: `/api/v1/tasks/${TASK}/swarm`, token: guest.token })
      assert.equal(nonsense.statusCode, 404)
      assert.match(nonsense.json<{ message: string }>().message, /1 of 2 schedulers did not answer/)
      answer = swarm({ taskId: 'd'.repeat(64) })
      assert.equal((await call(api.app, { method: 'GET', url: `/api/v1/tasks/${TASK}/swarm`, token: guest.token })).statusCode, 404, 'the swarm of another task is no answer')
      answer = swarm({ peers: [swarmPeer('seed', { state: 'sleeping' })], edges: [] })
      assert.equal((await call(api.app, { method: 'GET', url: `/api/v1/tasks/${TASK}/swarm`, token: guest.token })).statusCode, 404, 'nor is a peer state nobody knows')

      const noJobRead = await readerWithout(api, root, 'job')
      assert.equal((await call(api.app, { method: 'GET', url: `/api/v1/tasks/${TASK}/swarm`, token: noJobRead })).statusCode, 403)
      assert.equal((await call(api.app, { method: 'GET', url: `/api/v1/tasks/${TASK}/swarm` })).statusCode, 401)
    })
  })
}
