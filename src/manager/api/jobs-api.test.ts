import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { TEST_DIALECTS } from '../db/database-fixtures.js'
import type { JobHostWrite } from '../db/jobs-repository.js'
import { call, everyRow, ROOT_PASSWORD, signin, snapshot, startApi, userWith, type TestApi } from './api-fixtures.js'

const MANIFEST = 'https://registry.example/v2/library/alpine/manifests/3.19'

/** Harbor's body, exactly as its Dragonfly provider sends it (v2.13 and later). */
const HARBOR_BODY = {
  type: 'preheat',
  args: { type: 'image', url: MANIFEST, tag: '', filtered_query_params: '', headers: { Authorization: 'Bearer registry-token-7f3e' }, scope: '', concurrent_count: 0, timeout: 0 },
  scheduler_cluster_ids: null,
}

async function patWith(api: TestApi, root: string, scopes: string[]): Promise<string> {
  const response = await call(api.app, { method: 'POST', url: '/api/v1/personal-access-tokens', token: root, body: { name: `pat-${scopes.join('-')}`, bio: '', scopes, expired_at: new Date(api.clock.nowMs() + 3600_000).toISOString() } })
  assert.equal(response.statusCode, 201, response.body)
  return response.json<{ token: string }>().token
}

function row(values: Partial<JobHostWrite> & Pick<JobHostWrite, 'hostKey' | 'state'>): JobHostWrite {
  return {
    clusterId: 1, hostname: `${values.hostKey}.example`, ip: '10.0.0.1', seed: false, url: 'https://files.example/a', urlIndex: 0, taskId: 'a'.repeat(64),
    completedBytes: 0, contentLength: 0, finishedPieces: 0, totalPieces: 0, bytesPerSecond: 0, code: '', description: '', costMs: 0, ...values,
  }
}

for (const dialect of TEST_DIALECTS) {
  describe(`jobs API on ${dialect}`, { timeout: 180_000 }, () => {
    it('takes Harbor\'s preheat body through the Open API with a token: defaults for "", 0 and null, unknown fields ignored, credentials kept sealed', { timeout: 60_000 }, async (t) => {
      const api = await startApi(t, dialect)
      const root = await signin(api.app, 'root', ROOT_PASSWORD)
      const token = await patWith(api, root, ['job'])
      const created = await call(api.app, { method: 'POST', url: '/oapi/v1/jobs', token, body: HARBOR_BODY })
      assert.equal(created.statusCode, 200, created.body)
      const job = created.json<Record<string, unknown>>()
      assert.equal(typeof job['id'], 'number')
      assert.equal(job['type'], 'preheat')
      assert.equal(job['state'], 'PENDING')
      assert.equal(job['result'], null)
      assert.match(String(job['task_id']), /^group_[0-9a-f-]{36}$/)
      assert.match(String(job['created_at']), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)
      assert.deepEqual(job['args'], { type: 'image', urls: [MANIFEST], scope: 'single_seed_peer' }, 'defaults taken, unknown fields dropped, no credentials answered')
      assert.deepEqual((job['scheduler_clusters'] as Array<{ id: number; name: string }>).map((cluster) => [cluster.id, cluster.name]), [[1, 'cluster-1']], 'null: the default cluster')
      assert.deepEqual(api.queue.enqueued, [{ jobId: job['id'], runAt: undefined }])
      assert.ok(!(await everyRow(api.test)).includes('registry-token-7f3e'), 'the registry token is sealed in the database')
      assert.ok(!api.logs.join('\n').includes('registry-token-7f3e'), 'and never logged')

      const polled = await call(api.app, { method: 'GET', url: `/oapi/v1/jobs/${String(job['id'])}`, token })
      assert.equal(polled.statusCode, 200)
      assert.equal(polled.json<{ state: string }>().state, 'PENDING')
      const sealed = await api.services.jobs.getOrThrow(Number(job['id']))
      assert.deepEqual((await api.services.jobSecrets.open(sealed.sealedSecrets)).headers, { Authorization: 'Bearer registry-token-7f3e' }, 'the runner gets them back')

      const clusterOnly = await patWith(api, root, ['cluster'])
      assert.equal((await call(api.app, { method: 'POST', url: '/oapi/v1/jobs', token: clusterOnly, body: HARBOR_BODY })).statusCode, 403, 'a token without the job scope')
      assert.equal((await call(api.app, { method: 'POST', url: '/oapi/v1/jobs', body: HARBOR_BODY })).statusCode, 401)
      const guest = await userWith(api, root, 'visitor', ['guest'])
      assert.equal((await call(api.app, { method: 'POST', url: '/api/v1/jobs', token: guest.token, body: HARBOR_BODY })).statusCode, 403, 'a guest may not create a job')
      assert.equal((await call(api.app, { method: 'GET', url: '/api/v1/jobs', token: guest.token })).statusCode, 200, 'but may read them')
      const audits = await call(api.app, { method: 'GET', url: '/api/v1/audits?object=job', token: root })
      assert.deepEqual(audits.json<Array<{ path: string; state: string; method: string }>>().map((audit) => [audit.method, audit.path, audit.state]), [
        ['POST', '/api/v1/jobs', 'failure'],
        ['POST', '/oapi/v1/jobs', 'failure'],
        ['POST', '/oapi/v1/jobs', 'failure'],
        ['POST', '/oapi/v1/jobs', 'success'],
      ], 'every creation is audited, refused or not')
    })

    it('refuses bad arguments in one line naming the field, and creates nothing', { timeout: 60_000 }, async (t) => {
      const api = await startApi(t, dialect)
      const root = await signin(api.app, 'root', ROOT_PASSWORD)
      const before = await snapshot(api.test)
      const cases: Array<[unknown, RegExp]> = [
        [{ type: 'reboot', args: {} }, /body\.type/],
        [{ type: 'preheat', args: { type: 'file' } }, /args\.url or args\.urls/],
        [{ type: 'preheat', args: { type: 'image', url: 'ftp://registry.example/x' } }, /body\.args\.url: must be an http or https URL/],
        [{ type: 'preheat', args: { type: 'image', url: MANIFEST, platform: 'linux' } }, /body\.args\.platform: must be os\/arch/],
        [{ type: 'preheat', args: { type: 'image', url: MANIFEST, scope: 'everyone' } }, /body\.args\.scope/],
        [{ type: 'preheat', args: { type: 'file', url: 'https://files.example/a', count: 2, percentage: 50 } }, /count or percentage, not both/],
        [{ type: 'preheat', args: { type: 'file', url: 'https://files.example/a', headers: { 'X-Bad': 'a\r\nb' } } }, /CR, LF or NUL/],
        [{ type: 'distribution', args: { type: 'image', url: MANIFEST, output_path: 'x' } }, /only a file is written to a path/],
        [{ type: 'distribution', args: { type: 'file', urls: ['https://files.example/a', 'https://files.example/b'], output_path: 'x' } }, /exactly one URL/],
        [{ type: 'distribution', args: { type: 'file', url: 'https://files.example/a', rate_limit: 'fast' } }, /body\.args\.rate_limit/],
        [{ type: 'get_task', args: {} }, /give task_id or url/],
        [{ type: 'delete_task', args: { task_id: 'XYZ' } }, /body\.args\.task_id: must be 64 lowercase hex digits/],
        [{ type: 'preheat', args: { type: 'file', url: 'https://files.example/a' }, scheduler_cluster_ids: [99] }, /no cluster 99/],
        [{ type: 'preheat', args: { type: 'file', url: 'https://files.example/a' }, scheduled_at: 'tomorrow' }, /body\.scheduled_at/],
      ]
      for (const [body, message] of cases) {
        const response = await call(api.app, { method: 'POST', url: '/api/v1/jobs', token: root, body })
        assert.ok(response.statusCode === 400 || response.statusCode === 404, `${JSON.stringify(body)}: ${response.statusCode}`)
        const text = response.json<{ message: string }>().message
        assert.match(text, message)
        assert.ok(!text.includes('\n'), 'one line')
      }
      assert.equal(await snapshot(api.test), before)
      assert.deepEqual(api.queue.enqueued, [])
    })

    it('limits job creation per cluster to its job_rate_limit per second', { timeout: 60_000 }, async (t) => {
      const api = await startApi(t, dialect)
      const root = await signin(api.app, 'root', ROOT_PASSWORD)
      assert.equal((await call(api.app, { method: 'PATCH', url: '/api/v1/clusters/1', token: root, body: { scheduler_cluster_config: { job_rate_limit: 2 } } })).statusCode, 200)
      const create = async (): Promise<number> => (await call(api.app, { method: 'POST', url: '/api/v1/jobs', token: root, body: { type: 'get_task', args: { url: 'https://files.example/a' } } })).statusCode
      assert.deepEqual([await create(), await create(), await create()], [200, 200, 429])
      api.clock.advance(500)
      assert.equal(await create(), 200, 'one more token after half a second')
      assert.equal(await create(), 429)
    })

    it('stops a queued job at once, copies a job for later, and reruns a finished one for its failed hosts only', { timeout: 60_000 }, async (t) => {
      const api = await startApi(t, dialect)
      const root = await signin(api.app, 'root', ROOT_PASSWORD)
      const body = { type: 'distribution', args: { type: 'file', url: 'https://files.example/release.tar', rate_limit: '10MiB' } }
      const first = (await call(api.app, { method: 'POST', url: '/api/v1/jobs', token: root, body })).json<{ id: number; args: Record<string, unknown> }>()
      assert.equal(first.args['rate_limit'], 10 * 1024 * 1024)
      const stopped = await call(api.app, { method: 'POST', url: `/api/v1/jobs/${first.id}/stop`, token: root })
      assert.equal(stopped.statusCode, 200, stopped.body)
      assert.deepEqual([stopped.json<{ state: string }>().state, stopped.json<{ error: string }>().error], ['FAILURE', 'stopped by root before it started'])
      assert.deepEqual(api.queue.removed, [first.id])
      assert.equal((await call(api.app, { method: 'POST', url: `/api/v1/jobs/${first.id}/stop`, token: root })).statusCode, 400, 'already finished')

      const later = new Date(api.clock.nowMs() + 3600_000).toISOString()
      const copy = await call(api.app, { method: 'POST', url: `/api/v1/jobs/${first.id}/copy`, token: root, body: { scheduled_at: later } })
      assert.equal(copy.statusCode, 200, copy.body)
      const copied = copy.json<{ id: number; copied_from: number; phase: string; scheduled_at: string; args: unknown }>()
      assert.deepEqual([copied.copied_from, copied.phase, copied.scheduled_at, copied.args], [first.id, 'scheduled', later, first.args])
      assert.deepEqual(api.queue.enqueued.at(-1), { jobId: copied.id, runAt: new Date(later) })
      assert.equal((await call(api.app, { method: 'POST', url: `/api/v1/jobs/${copied.id}/rerun`, token: root })).statusCode, 400, 'not finished')

      // The copy ran: one host failed.
      const { jobs } = api.services
      await jobs.markRunning(copied.id)
      await jobs.writeHosts(copied.id, [row({ hostKey: 'h1', state: 'SUCCESS' }), row({ hostKey: 'h2', ip: '10.0.0.2', state: 'FAILURE', code: 'DAEMON_UNAVAILABLE', description: 'host h2 disconnected' })])
      await jobs.finish(copied.id, { state: 'FAILURE', error: '1 of 2 host downloads failed' })
      const finished = (await call(api.app, { method: 'GET', url: `/api/v1/jobs/${copied.id}`, token: root })).json<{ result: { job_states: Array<{ error: string; results: Array<{ success_tasks: unknown[]; failure_tasks: unknown[] }> }> } }>()
      const [state] = finished.result.job_states
      assert.equal(state?.error, '1 of 2 host downloads failed')
      assert.deepEqual(state?.results[0]?.success_tasks, [{ url: 'https://files.example/a', task_id: 'a'.repeat(64), hostname: 'h1.example', ip: '10.0.0.1' }])
      assert.deepEqual(state?.results[0]?.failure_tasks, [{ url: 'https://files.example/a', task_id: 'a'.repeat(64), hostname: 'h2.example', ip: '10.0.0.2', description: 'host h2 disconnected' }])

      const hosts = await call(api.app, { method: 'GET', url: `/api/v1/jobs/${copied.id}/hosts?state=FAILURE`, token: root })
      assert.deepEqual(hosts.json<Array<{ hostname: string; code: string }>>().map((host) => [host.hostname, host.code]), [['h2.example', 'DAEMON_UNAVAILABLE']])

      const rerun = await call(api.app, { method: 'POST', url: `/api/v1/jobs/${copied.id}/rerun`, token: root })
      assert.equal(rerun.statusCode, 200, rerun.body)
      assert.deepEqual([rerun.json<{ state: string }>().state, rerun.json<{ phase: string }>().phase, rerun.json<{ result: unknown }>().result], ['PENDING', 'queued', null])
      assert.deepEqual(api.queue.enqueued.at(-1), { jobId: copied.id, runAt: undefined })
    })

    it('streams a job\'s host rows and its end as server-sent events', { timeout: 60_000 }, async (t) => {
      const api = await startApi(t, dialect)
      const root = await signin(api.app, 'root', ROOT_PASSWORD)
      const created = (await call(api.app, { method: 'POST', url: '/api/v1/jobs', token: root, body: { type: 'distribution', args: { type: 'file', url: 'https://files.example/a' } } })).json<{ id: number }>()
      const { jobs } = api.services
      await jobs.markRunning(created.id)
      await jobs.writeHosts(created.id, [row({ hostKey: 'h1', state: 'RUNNING', completedBytes: 512, contentLength: 4096 }), row({ hostKey: 'h1', urlIndex: 1, state: 'PENDING' })])
      await jobs.writeHosts(created.id, [row({ hostKey: 'h1', state: 'RUNNING', completedBytes: 1024, contentLength: 4096 })])
      assert.deepEqual((await jobs.listHosts(created.id)).items.map((host) => [host.urlIndex, host.completedBytes]), [[0, 1024], [1, 0]], 'a second write replaces the row of the same host and URL')
      await jobs.writeHosts(created.id, [row({ hostKey: 'h1', urlIndex: 1, state: 'SUCCESS', completedBytes: 4096, contentLength: 4096 })])
      await jobs.finish(created.id, { state: 'SUCCESS' })
      const events = await call(api.app, { method: 'GET', url: `/api/v1/jobs/${created.id}/events`, token: root })
      assert.equal(events.statusCode, 200)
      assert.match(String(events.headers['content-type']), /^text\/event-stream/)
      const parsed = events.body.trim().split('\n\n').map((block) => {
        const [event, data] = block.split('\n')
        return { event: event?.replace('event: ', ''), data: JSON.parse(data?.replace('data: ', '') ?? 'null') as Record<string, unknown> }
      })
      assert.deepEqual(parsed.map((event) => event.event), ['host', 'host', 'job'])
      const byUrl = parsed.filter((event) => event.event === 'host').map((event) => [event.data['completed_bytes'], event.data['state']]).sort()
      assert.deepEqual(byUrl, [[1024, 'RUNNING'], [4096, 'SUCCESS']])
      assert.equal(parsed.at(-1)?.data['state'], 'SUCCESS')
      assert.equal((await call(api.app, { method: 'GET', url: '/api/v1/jobs/999/events', token: root })).statusCode, 404)
    })
  })
}
