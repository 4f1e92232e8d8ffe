import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { createLogger } from '../../common/logger.js'
import { bootstrapRoot } from '../auth/root-bootstrap.js'
import { TEST_DIALECTS } from '../db/database-fixtures.js'
import { call, everyRow, ROOT_PASSWORD, signin, snapshot, startApi, TEST_CA_PIN, userWith } from './api-fixtures.js'
import { BAD_INPUT_CASES, coveredRoutes } from './api-bad-input-fixtures.js'
import { apiRoutes } from './app.js'
import { buildOpenApiDocument, openApiPath } from './openapi.js'
import { unguardedRoutes, UNGUARDED_URLS } from './route-catalogue.js'

const ORIGIN = 'http://localhost:80'

for (const dialect of TEST_DIALECTS) {
  describe(`manager API on ${dialect}`, { timeout: 180_000 }, () => {
    it('signs in with a cookie or a Bearer token, refuses a cookie change from another origin, and signs out', { timeout: 60_000 }, async (t) => {
      const api = await startApi(t, dialect)
      const signedIn = await call(api.app, { method: 'POST', url: '/api/v1/users/signin', body: { name: 'root', password: ROOT_PASSWORD } })
      assert.equal(signedIn.statusCode, 200, signedIn.body)
      const { token, expire } = signedIn.json<{ token: string; expire: string }>()
      assert.equal(Date.parse(expire), api.clock.nowMs() + 24 * 3600_000)
      assert.match(expire, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/)
      const setCookie = String(signedIn.headers['set-cookie'])
      assert.match(setCookie, /^damselfly_session=dfs_[\w-]+; Path=\/; HttpOnly; SameSite=Strict; Max-Age=86400$/, 'no Secure over plain HTTP')
      const cookie = setCookie.split(';')[0]!
      assert.equal(cookie, `damselfly_session=${token}`)

      assert.equal((await call(api.app, { method: 'GET', url: '/api/v1/users', cookie })).statusCode, 200, 'a read by cookie needs no Origin')
      const before = await snapshot(api.test)
      for (const origin of [undefined, 'http://evil.example', 'null']) {
        const refused = await call(api.app, { method: 'POST', url: '/api/v1/clusters', cookie, body: { name: 'by-cookie' }, ...(origin === undefined ? {} : { origin }) })
        assert.equal(refused.statusCode, 403, `Origin ${String(origin)}`)
        assert.match(refused.json<{ message: string }>().message, /Origin or Referer/)
      }
      assert.equal(await snapshot(api.test), before, 'a refused change changed nothing')
      assert.equal((await call(api.app, { method: 'POST', url: '/api/v1/clusters', cookie, origin: ORIGIN, body: { name: 'by-cookie' } })).statusCode, 201)
      assert.equal((await call(api.app, { method: 'POST', url: '/api/v1/clusters', token, body: { name: 'by-bearer' } })).statusCode, 201, 'Bearer needs no Origin')
      assert.equal((await call(api.app, { method: 'GET', url: `/api/v1/clusters?access_token=${token}` })).statusCode, 200)
      assert.equal((await call(api.app, { method: 'GET', url: '/api/v1/clusters' })).statusCode, 401)
      assert.equal((await call(api.app, { method: 'GET', url: '/api/v1/clusters', token: 'dfs_forged' })).statusCode, 401)

      assert.equal((await call(api.app, { method: 'POST', url: '/api/v1/users/signout', token })).statusCode, 204)
      const after = await call(api.app, { method: 'GET', url: '/api/v1/clusters', cookie })
      assert.equal(after.statusCode, 401, 'the session ended for the cookie too')
      api.clock.advance(1)
      const second = await signin(api.app, 'root', ROOT_PASSWORD)
      api.clock.advance(24 * 3600_000)
      assert.equal((await call(api.app, { method: 'GET', url: '/api/v1/clusters', token: second })).statusCode, 401, 'an expired session')
    })

    it('makes root with a random password printed once, which must be changed before anything else', { timeout: 60_000 }, async (t) => {
      const api = await startApi(t, dialect)
      await api.test.database.db.deleteFrom('user_roles').execute()
      await api.test.database.db.deleteFrom('users').execute()
      const printed: string[] = []
      const logs: string[] = []
      const logger = createLogger({ level: 'trace', name: 'manager', destination: { write: (line: string) => { logs.push(line) } } })
      const bootstrap = { ...api.services, logger, printSecret: (line: string) => { printed.push(line) } }
      assert.equal(await bootstrapRoot(bootstrap, { rootPassword: '' }), 'created')
      assert.equal(await bootstrapRoot(bootstrap, { rootPassword: '' }), 'exists')
      assert.equal(printed.length, 1, 'printed once')
      const password = /password (\S+) /.exec(printed[0]!)?.[1]
      assert.ok(password !== undefined && password.length >= 20, printed[0])
      assert.ok(logs.length > 0 && logs.every((line) => !line.includes(password)), 'never in the log')

      const token = await signin(api.app, 'root', password)
      const refused = await call(api.app, { method: 'GET', url: '/api/v1/clusters', token })
      assert.equal(refused.statusCode, 403)
      assert.match(refused.json<{ message: string }>().message, /password must be changed first/)
      const rootId = (await api.services.users.credentialsByName('root'))!.user.id
      const reset = `/api/v1/users/${rootId}/reset_password`
      assert.equal((await call(api.app, { method: 'POST', url: reset, token, body: { new_password: 'a-new-password' } })).statusCode, 400, 'the old password is needed')
      assert.equal((await call(api.app, { method: 'POST', url: reset, token, body: { old_password: 'wrong-password', new_password: 'a-new-password' } })).statusCode, 403)
      assert.equal((await call(api.app, { method: 'POST', url: reset, token, body: { old_password: password, new_password: 'a-new-password' } })).statusCode, 204)
      assert.equal((await call(api.app, { method: 'GET', url: '/api/v1/clusters', token })).statusCode, 200, 'the session that changed it goes on')
      assert.equal((await call(api.app, { method: 'POST', url: '/api/v1/users/signin', body: { name: 'root', password } })).statusCode, 401)
      assert.ok(!(await everyRow(api.test)).includes(password), 'the password is stored as a hash only')
    })

    it('limits failed sign-ins per name and per address, across managers on one database', { timeout: 60_000 }, async (t) => {
      const api = await startApi(t, dialect)
      const other = api.another()
      t.after(() => other.app.close())
      const attempt = (app: typeof api.app, name: string, password: string, remoteAddress: string): Promise<number> =>
        call(app, { method: 'POST', url: '/api/v1/users/signin', body: { name, password }, remoteAddress }).then((response) => response.statusCode)
      for (let i = 0; i < 5; i++) assert.equal(await attempt(i % 2 === 0 ? api.app : other.app, 'root', 'wrong', `10.0.0.${i + 1}`), 401)
      const limited = await call(api.app, { method: 'POST', url: '/api/v1/users/signin', body: { name: 'root', password: ROOT_PASSWORD }, remoteAddress: '10.0.1.1' })
      assert.equal(limited.statusCode, 429, 'the right password is not even checked')
      assert.equal(limited.headers['retry-after'], '300')
      assert.equal(limited.json<{ code: string }>().code, 'TOO_MANY_REQUESTS')
      assert.equal(await attempt(other.app, 'root', ROOT_PASSWORD, '10.0.1.2'), 429, 'on the other manager too')
      for (let i = 0; i < 5; i++) assert.equal(await attempt(api.app, `nobody-${i}`, 'wrong', '10.9.9.9'), 401)
      assert.equal(await attempt(other.app, 'someone-else', 'wrong', '10.9.9.9'), 429, 'per address')
      api.clock.advance(5 * 60_000)
      assert.equal(await attempt(api.app, 'root', ROOT_PASSWORD, '10.9.9.9'), 200, 'the window passed')
    })

    it('holds each user to their roles: guest reads, a cluster editor edits clusters only, only root changes root', { timeout: 60_000 }, async (t) => {
      const api = await startApi(t, dialect)
      const root = await signin(api.app, 'root', ROOT_PASSWORD)
      const created = await call(api.app, { method: 'POST', url: '/api/v1/roles', token: root, body: { role: 'cluster-editor', permissions: [{ object: 'cluster', action: 'write' }] } })
      assert.equal(created.statusCode, 201, created.body)
      const guest = await userWith(api, root, 'guest-1', ['guest'])
      const editor = await userWith(api, root, 'editor-1', ['cluster-editor'])
      const rootId = (await api.services.users.credentialsByName('root'))!.user.id
      const cases = [
        { who: guest, method: 'GET', url: '/api/v1/clusters', status: 200 },
        { who: guest, method: 'GET', url: '/api/v1/hosts', status: 200 },
        { who: guest, method: 'POST', url: '/api/v1/clusters', body: { name: 'by-guest' }, status: 403 },
        { who: guest, method: 'GET', url: '/api/v1/users', status: 403 },
        { who: guest, method: 'GET', url: '/api/v1/roles', status: 403 },
        { who: guest, method: 'GET', url: `/api/v1/users/${guest.id}`, status: 200 },
        { who: guest, method: 'GET', url: `/api/v1/users/${guest.id}/roles`, status: 200 },
        { who: guest, method: 'GET', url: `/api/v1/users/${rootId}`, status: 403 },
        { who: guest, method: 'PATCH', url: `/api/v1/users/${guest.id}`, body: { state: 'disable' }, status: 403 },
        { who: editor, method: 'POST', url: '/api/v1/clusters', body: { name: 'by-editor' }, status: 201 },
        { who: editor, method: 'PATCH', url: '/api/v1/clusters/1', body: { bio: 'edited' }, status: 200 },
        { who: editor, method: 'POST', url: '/api/v1/users', body: { name: 'x1', password: 'x1-password' }, status: 403 },
        { who: editor, method: 'PUT', url: `/api/v1/users/${editor.id}/roles/root`, status: 403 },
        { who: editor, method: 'POST', url: `/api/v1/users/${rootId}/reset_password`, body: { new_password: 'taken-over' }, status: 403 },
        { who: editor, method: 'DELETE', url: '/api/v1/schedulers/1', status: 403 },
      ] as const
      for (const { who, method, url, status, ...rest } of cases) {
        const response = await call(api.app, { method, url, token: who.token, ...('body' in rest ? { body: rest.body } : {}) })
        assert.equal(response.statusCode, status, `${method} ${url}: ${response.body}`)
      }
      const refusals = await call(api.app, { method: 'GET', url: '/api/v1/audits?actor_name=guest-1&state=failure', token: root })
      assert.deepEqual(refusals.json<Array<{ method: string; path: string; status_code: number }>>().map((row) => `${row.method} ${row.path} ${row.status_code}`), [
        `PATCH /api/v1/users/${guest.id} 403`,
        'POST /api/v1/clusters 403',
      ], 'a refused change is audited too, with who asked')
      assert.deepEqual((await call(api.app, { method: 'GET', url: `/api/v1/users/${editor.id}/roles`, token: root })).json(), ['cluster-editor'])
      const deleted = await call(api.app, { method: 'DELETE', url: '/api/v1/roles/cluster-editor', token: root })
      assert.equal(deleted.statusCode, 204)
      assert.equal((await call(api.app, { method: 'PATCH', url: '/api/v1/clusters/1', token: editor.token, body: { bio: 'again' } })).statusCode, 403, 'the role is gone at once')
      assert.equal((await call(api.app, { method: 'DELETE', url: '/api/v1/roles/root', token: root })).statusCode, 403, 'built-in')
      const permissions = (await call(api.app, { method: 'GET', url: '/api/v1/permissions', token: root })).json<unknown[]>()
      assert.equal(permissions.length, 22)
    })

    it('lets a personal access token act as its user within its scopes, until it expires or is revoked; /oapi takes tokens only', { timeout: 60_000 }, async (t) => {
      const api = await startApi(t, dialect)
      const root = await signin(api.app, 'root', ROOT_PASSWORD)
      const make = async (scopes: string[]): Promise<{ id: number; token: string }> => {
        const response = await call(api.app, { method: 'POST', url: '/api/v1/personal-access-tokens', token: root, body: { name: `pat-${scopes.join('-')}`, bio: '', scopes, expired_at: new Date(api.clock.nowMs() + 3600_000).toISOString() } })
        assert.equal(response.statusCode, 201, response.body)
        const body = response.json<{ id: number; token: string }>()
        assert.match(body.token, /^dfp_/)
        return body
      }
      const cluster = await make(['cluster'])
      const job = await make(['job'])
      const listed = await call(api.app, { method: 'GET', url: '/api/v1/personal-access-tokens', token: root })
      assert.equal(listed.headers['total-count'], '2')
      assert.ok(!listed.body.includes(cluster.token) && !listed.body.includes('"token"'), 'a listing never holds a token')
      assert.ok(!(await everyRow(api.test)).includes(cluster.token), 'stored as sha256 only')

      const status = async (url: string, token: string, method: 'GET' | 'POST' = 'GET', body?: unknown): Promise<number> =>
        (await call(api.app, { method, url, token, ...(body === undefined ? {} : { body }) })).statusCode
      assert.equal(await status('/oapi/v1/clusters', cluster.token), 200)
      assert.equal(await status('/oapi/v1/clusters/1', cluster.token), 200)
      assert.equal((await call(api.app, { method: 'GET', url: `/oapi/v1/clusters?access_token=${cluster.token}` })).statusCode, 200)
      assert.equal(await status('/api/v1/schedulers', cluster.token), 200, 'cluster covers schedulers')
      assert.equal(await status('/api/v1/clusters', cluster.token, 'POST', { name: 'by-token' }), 201, 'with its user\'s write')
      assert.equal(await status('/api/v1/users', cluster.token), 403, 'no scope for users')
      assert.equal(await status('/api/v1/personal-access-tokens', cluster.token, 'POST', { name: 'n', scopes: ['job'], expired_at: '2030-01-01T00:00:00Z' }), 403, 'a token cannot make tokens')
      assert.equal(await status('/oapi/v1/clusters', job.token), 403, 'job scope only')
      assert.equal(await status('/oapi/v1/clusters', root), 401, 'a session on the Open API')

      const guest = await userWith(api, root, 'guest-2', ['guest'])
      assert.equal(await status(`/api/v1/personal-access-tokens/${cluster.id}`, guest.token), 403, 'another user\'s token')
      const guestList = await call(api.app, { method: 'GET', url: '/api/v1/personal-access-tokens', token: guest.token })
      assert.deepEqual(guestList.json(), [], 'a user lists their own')

      assert.equal((await call(api.app, { method: 'PATCH', url: `/api/v1/personal-access-tokens/${job.id}`, token: root, body: { scopes: ['job', 'cluster'] } })).statusCode, 200)
      assert.equal(await status('/oapi/v1/clusters', job.token), 200, 'scopes changed at once')
      assert.equal((await call(api.app, { method: 'PATCH', url: `/api/v1/personal-access-tokens/${job.id}`, token: root, body: { state: 'inactive' } })).statusCode, 200)
      assert.equal(await status('/oapi/v1/clusters', job.token), 401, 'revoked')
      api.clock.advance(3600_000)
      assert.equal(await status('/oapi/v1/clusters', cluster.token), 401, 'expired')
      assert.equal((await call(api.app, { method: 'DELETE', url: `/api/v1/personal-access-tokens/${cluster.id}`, token: root })).statusCode, 204)
      assert.equal((await call(api.app, { method: 'GET', url: `/api/v1/personal-access-tokens/${cluster.id}`, token: root })).statusCode, 404)
    })

    it('ends a disabled user\'s sessions and tokens, refuses their sign-in, and never disables the last root', { timeout: 60_000 }, async (t) => {
      const api = await startApi(t, dialect)
      const root = await signin(api.app, 'root', ROOT_PASSWORD)
      const guest = await userWith(api, root, 'guest-3', ['guest'])
      assert.equal((await call(api.app, { method: 'GET', url: '/api/v1/clusters', token: guest.token })).statusCode, 200)
      const pat = await call(api.app, { method: 'POST', url: '/api/v1/personal-access-tokens', token: guest.token, body: { name: 'mine', scopes: ['cluster'], expired_at: '2030-01-01T00:00:00Z' } })
      assert.equal(pat.statusCode, 201, 'a guest makes tokens of their own')
      const patToken = pat.json<{ token: string }>().token
      assert.equal((await call(api.app, { method: 'GET', url: '/oapi/v1/clusters', token: patToken })).statusCode, 200)
      assert.equal((await call(api.app, { method: 'POST', url: '/api/v1/clusters', token: patToken, body: { name: 'x' } })).statusCode, 403, 'a token has no more than its user')
      const disabled = await call(api.app, { method: 'PATCH', url: `/api/v1/users/${guest.id}`, token: root, body: { state: 'disable' } })
      assert.equal(disabled.statusCode, 200, disabled.body)
      assert.equal(disabled.json<{ state: string }>().state, 'disable')
      assert.equal((await call(api.app, { method: 'GET', url: '/api/v1/clusters', token: guest.token })).statusCode, 401)
      assert.equal((await call(api.app, { method: 'POST', url: '/api/v1/users/signin', body: { name: 'guest-3', password: 'guest-3-password' } })).statusCode, 401)
      assert.equal((await call(api.app, { method: 'GET', url: '/oapi/v1/clusters', token: patToken })).statusCode, 401, 'nor do their tokens')
      const rootId = (await api.services.users.credentialsByName('root'))!.user.id
      assert.equal((await call(api.app, { method: 'PATCH', url: `/api/v1/users/${rootId}`, token: root, body: { state: 'disable' } })).statusCode, 403)
      assert.equal((await call(api.app, { method: 'DELETE', url: `/api/v1/users/${rootId}/roles/root`, token: root })).statusCode, 403)
      assert.equal((await call(api.app, { method: 'PATCH', url: `/api/v1/users/${guest.id}`, token: root, body: { state: 'enable' } })).statusCode, 200)
      await signin(api.app, 'guest-3', 'guest-3-password')
    })

    it('audits every change and every sign-in, and no audit row or log line holds a password or a token', { timeout: 60_000 }, async (t) => {
      const api = await startApi(t, dialect)
      assert.equal((await call(api.app, { method: 'POST', url: '/api/v1/users/signin', body: { name: 'root', password: 'a-wrong-secret-77' } })).statusCode, 401)
      const root = await signin(api.app, 'root', ROOT_PASSWORD)
      const pat = (await call(api.app, { method: 'POST', url: '/api/v1/personal-access-tokens', token: root, body: { name: 'p', scopes: ['cluster'], expired_at: '2030-01-01T00:00:00Z' } })).json<{ token: string }>().token
      assert.equal((await call(api.app, { method: 'POST', url: `/api/v1/clusters?access_token=${pat}`, body: { name: 'by-pat' } })).statusCode, 201)
      assert.equal((await call(api.app, { method: 'DELETE', url: '/api/v1/clusters/1', token: pat })).statusCode, 400, 'the default cluster stays')
      await call(api.app, { method: 'POST', url: '/api/v1/users', token: root, body: { name: 'u1', password: 'u1-secret-password' } })
      const rows = await call(api.app, { method: 'GET', url: '/api/v1/audits?per_page=100', token: root })
      type Row = { actor_type: string; actor_name: string; method: string; path: string; object: string; state: string; status_code: number }
      const audits = rows.json<Row[]>().reverse()
      assert.deepEqual(audits.map((row) => [row.actor_type, row.actor_name, row.method, row.path, row.object, row.state, row.status_code]), [
        ['anonymous', 'root', 'POST', '/api/v1/users/signin', 'user', 'failure', 401],
        ['user', 'root', 'POST', '/api/v1/users/signin', 'user', 'success', 200],
        ['user', 'root', 'POST', '/api/v1/personal-access-tokens', 'personal_access_token', 'success', 201],
        ['pat', 'root', 'POST', '/api/v1/clusters', 'cluster', 'success', 201],
        ['pat', 'root', 'DELETE', '/api/v1/clusters/1', 'cluster', 'failure', 400],
        ['user', 'root', 'POST', '/api/v1/users', 'user', 'success', 201],
      ])
      const failures = await call(api.app, { method: 'GET', url: '/api/v1/audits?state=failure&actor_type=pat&object=cluster', token: root })
      assert.equal(failures.json<Row[]>().length, 1)
      const since = await call(api.app, { method: 'GET', url: `/api/v1/audits?since=${encodeURIComponent(new Date(api.clock.nowMs() + 1).toISOString())}`, token: root })
      assert.deepEqual(since.json(), [])
      const paged = await call(api.app, { method: 'GET', url: '/api/v1/audits?page=2&per_page=4', token: root })
      assert.equal(paged.json<Row[]>().length, 2)
      assert.equal(paged.headers['total-count'], '6')
      assert.match(String(paged.headers['link']), /<\/api\/v1\/audits\?page=1&per_page=4>; rel="first"/)
      const stored = await everyRow(api.test)
      const logs = api.logs.join('\n')
      for (const secret of [ROOT_PASSWORD, 'a-wrong-secret-77', 'u1-secret-password', root, pat]) {
        assert.ok(!stored.includes(secret), `a secret in the database: ${secret.slice(0, 6)}`)
        assert.ok(!logs.includes(secret), `a secret in the log: ${secret.slice(0, 6)}`)
      }
    })

    it('refuses bad input on every route with 400 and a one-line reason naming the field, changing nothing', { timeout: 90_000 }, async (t) => {
      const api = await startApi(t, dialect)
      const root = await signin(api.app, 'root', ROOT_PASSWORD)
      const pat = (await call(api.app, { method: 'POST', url: '/api/v1/personal-access-tokens', token: root, body: { name: 'all', scopes: ['job', 'cluster'], expired_at: '2030-01-01T00:00:00Z' } })).json<{ token: string }>().token
      const before = await snapshot(api.test)
      for (const badInput of BAD_INPUT_CASES) {
        const response = await call(api.app, { method: badInput.method, url: badInput.url, token: badInput.as === 'pat' ? pat : root, ...('body' in badInput ? { body: badInput.body } : {}) })
        const what = `${badInput.method} ${badInput.url} ${JSON.stringify('body' in badInput ? badInput.body : null)}`
        assert.equal(response.statusCode, 400, `${what}: ${response.body}`)
        const { code, message } = response.json<{ code: string; message: string }>()
        assert.equal(code, 'INVALID_ARGUMENT')
        assert.ok(message.includes(badInput.names), `${what}: ${message} names ${badInput.names}`)
        assert.ok(!message.includes('\n'), message)
      }
      assert.equal(await snapshot(api.test), before)
    })

    it('makes join tokens shown once and kept as a hash, scoped to a role and cluster; lists and revokes certificates; guests read only', { timeout: 60_000 }, async (t) => {
      const api = await startApi(t, dialect)
      const root = await signin(api.app, 'root', ROOT_PASSWORD)
      const created = await call(api.app, { method: 'POST', url: '/api/v1/join-tokens', token: root, body: { role: 'seed', ttl: '1h', uses: 1 } })
      assert.equal(created.statusCode, 201, created.body)
      const token = created.json<{ id: string; token: string; role: string; cluster_id: number; uses_left: number; created_by: string }>()
      const defaultCluster = await api.services.clusters.ensureDefault()
      assert.deepEqual({ role: token.role, cluster_id: token.cluster_id, uses_left: token.uses_left, created_by: token.created_by }, { role: 'seed', cluster_id: defaultCluster.id, uses_left: 1, created_by: 'root' })
      assert.match(token.token, new RegExp(`^dfj1\\.${token.id}\\.[A-Za-z0-9_-]{22}\\.${TEST_CA_PIN}$`))
      const secret = token.token.split('.')[2] ?? ''
      const listed = await call(api.app, { method: 'GET', url: '/api/v1/join-tokens', token: root })
      assert.ok(!listed.body.includes(secret), 'a listing never shows the secret')
      assert.ok(!(await everyRow(api.test)).includes(secret), 'nor does any table')
      assert.deepEqual(await api.services.joinTokens.redeem(token.id, secret), { role: 'seed', clusterId: defaultCluster.id })
      assert.equal((await call(api.app, { method: 'POST', url: '/api/v1/join-tokens', token: root, body: { role: 'normal', cluster_id: 99999 } })).statusCode, 404)

      const guest = await userWith(api, root, 'watcher', ['guest'])
      assert.equal((await call(api.app, { method: 'GET', url: '/api/v1/join-tokens', token: guest.token })).statusCode, 200)
      assert.equal((await call(api.app, { method: 'POST', url: '/api/v1/join-tokens', token: guest.token, body: { role: 'normal' } })).statusCode, 403)

      const hostId = 'a'.repeat(32)
      await api.services.certificates.record({ identity: { hostId: hostId as never, role: 'normal', hostname: 'node-1', ips: ['10.0.0.9'], publicKeySpki: Buffer.alloc(0) }, clusterId: defaultCluster.id, notAfterMs: api.clock.nowMs() + 86_400_000 })
      assert.equal((await call(api.app, { method: 'POST', url: `/api/v1/certificates/${hostId}/revoke`, token: guest.token })).statusCode, 403)
      const revoked = await call(api.app, { method: 'POST', url: `/api/v1/certificates/${hostId}/revoke`, token: root })
      assert.equal(revoked.statusCode, 200, revoked.body)
      assert.equal(revoked.json<{ revoked_by: string }>().revoked_by, 'root')
      assert.deepEqual(await api.services.certificates.revokedHostIds(), [hostId])
      const onlyRevoked = await call(api.app, { method: 'GET', url: '/api/v1/certificates?revoked=true', token: guest.token })
      assert.deepEqual(onlyRevoked.json<Array<{ host_id: string }>>().map((certificate) => certificate.host_id), [hostId])
      assert.equal((await call(api.app, { method: 'POST', url: `/api/v1/certificates/${'b'.repeat(32)}/revoke`, token: root })).statusCode, 404)
      assert.equal((await call(api.app, { method: 'DELETE', url: `/api/v1/join-tokens/${token.id}`, token: root })).statusCode, 404, 'a used-up token is gone')
    })

    it('serves clusters in Dragonfly\'s JSON, and schedulers, seed peers and hosts with filters and paging', { timeout: 60_000 }, async (t) => {
      const api = await startApi(t, dialect)
      const root = await signin(api.app, 'root', ROOT_PASSWORD)
      const created = await call(api.app, { method: 'POST', url: '/api/v1/clusters', token: root, body: { name: 'east', scopes: { idc: 'e1', cidrs: ['10.1.0.0/16'], hostnames: ['^east-'] }, scheduler_cluster_config: { candidate_parent_limit: 6 }, blocklist: { urls: ['\\.iso$'] } } })
      assert.equal(created.statusCode, 201, created.body)
      const east = created.json<Record<string, unknown> & { id: number }>()
      assert.deepEqual({ ...east, created_at: 'x', updated_at: 'x' }, {
        id: east.id, name: 'east', bio: '', scopes: { idc: 'e1', location: '', cidrs: ['10.1.0.0/16'], hostnames: ['^east-'] },
        scheduler_cluster_id: east.id, seed_peer_cluster_id: east.id,
        scheduler_cluster_config: { candidate_parent_limit: 6, filter_parent_limit: 15, job_rate_limit: 10 },
        seed_peer_cluster_config: { load_limit: 2000 }, peer_cluster_config: { load_limit: 200 },
        blocklist: { applications: [], urls: ['\\.iso$'], tags: [] }, is_default: false, created_at: 'x', updated_at: 'x',
        members: { active_schedulers: 0, active_seed_peers: 0, hosts: 0 },
      })
      const patched = await call(api.app, { method: 'PATCH', url: `/api/v1/clusters/${east.id}`, token: root, body: { scheduler_cluster_config: { filter_parent_limit: 40 } } })
      assert.deepEqual(patched.json<{ scheduler_cluster_config: unknown }>().scheduler_cluster_config, { candidate_parent_limit: 6, filter_parent_limit: 40, job_rate_limit: 10 })
      assert.equal((await call(api.app, { method: 'POST', url: '/api/v1/clusters', token: root, body: { name: 'east' } })).statusCode, 409)

      const db = api.test.database.db
      const now = api.clock.nowMs()
      const member = { port: 8002, idc: 'e1', location: 'eu|fr', host_id: '', state: 'active' as const, last_keepalive_at_ms: now, created_at_ms: now, updated_at_ms: now }
      await db.insertInto('schedulers').values([
        { ...member, cluster_id: east.id, hostname: 'east-sched-1', ip: '10.1.0.1', features: '["schedule"]' },
        { ...member, cluster_id: 1, hostname: 'west_sched-2', ip: '10.2.0.1', features: '[]', state: 'inactive' },
      ]).execute()
      await db.insertInto('seed_peers').values({ ...member, cluster_id: east.id, hostname: 'east-seed-1', ip: '10.1.0.9', type: 'super' }).execute()
      const host = { port: 65002, idc: '', location: '', os: 'linux', created_at_ms: now, updated_at_ms: now, last_seen_at_ms: now }
      await db.insertInto('hosts').values([
        { ...host, host_id: 'h1', cluster_id: east.id, hostname: 'east-node-1', ip: '10.1.3.1', version: '0.1.0', type: 'normal' },
        { ...host, host_id: 'h2', cluster_id: east.id, hostname: 'east-node-2', ip: '10.1.3.2', version: '0.2.0', type: 'normal' },
        { ...host, host_id: 'h3', cluster_id: east.id, hostname: 'east-seed-1', ip: '10.1.0.9', version: '0.2.0', type: 'seed' },
      ]).execute()
      const list = async (url: string): Promise<Array<Record<string, unknown>>> => {
        const response = await call(api.app, { method: 'GET', url, token: root })
        assert.equal(response.statusCode, 200, `${url}: ${response.body}`)
        return response.json()
      }
      assert.deepEqual((await list(`/api/v1/schedulers?scheduler_cluster_id=${east.id}`)).map((s) => [s['host_name'], s['features'], s['state']]), [['east-sched-1', ['schedule'], 'active']])
      assert.deepEqual((await list('/api/v1/schedulers?hostname=_sched')).map((s) => s['host_name']), ['west_sched-2'], '_ is no wildcard')
      assert.deepEqual((await list('/api/v1/schedulers?state=inactive')).map((s) => s['host_name']), ['west_sched-2'])
      assert.deepEqual((await list('/api/v1/seed-peers?type=super')).map((s) => [s['host_name'], s['seed_peer_cluster_id']]), [['east-seed-1', east.id]])
      assert.deepEqual((await list('/api/v1/hosts?type=normal&version=0.2.0')).map((h) => h['hostname']), ['east-node-2'])
      assert.deepEqual((await list('/api/v1/hosts?ip=10.1.3')).map((h) => h['hostname']), ['east-node-1', 'east-node-2'])
      const paged = await call(api.app, { method: 'GET', url: '/api/v1/hosts?per_page=2&page=2', token: root })
      assert.deepEqual(paged.json<Array<{ hostname: string; last_seen: string }>>().map((h) => [h.hostname, h.last_seen]), [['east-seed-1', new Date(now).toISOString()]])
      assert.equal(paged.headers['total-count'], '3')
      const hostId = (await list('/api/v1/hosts?hostname=seed'))[0]!['id'] as number
      assert.equal((await list(`/api/v1/hosts?cluster_id=${east.id}`)).length, 3)
      assert.equal((await call(api.app, { method: 'GET', url: `/api/v1/hosts/${hostId}`, token: root })).json<{ os: string }>().os, 'linux')

      assert.equal((await call(api.app, { method: 'DELETE', url: `/api/v1/clusters/${east.id}`, token: root })).statusCode, 400, 'it has members')
      for (const path of ['schedulers', 'seed-peers']) {
        const id = (await list(`/api/v1/${path}?hostname=east`))[0]!['id'] as number
        assert.equal((await call(api.app, { method: 'DELETE', url: `/api/v1/${path}/${id}`, token: root })).statusCode, 204)
        assert.equal((await call(api.app, { method: 'GET', url: `/api/v1/${path}/${id}`, token: root })).statusCode, 404)
        assert.equal((await call(api.app, { method: 'DELETE', url: `/api/v1/${path}/${id}`, token: root })).statusCode, 404)
      }
      assert.equal((await call(api.app, { method: 'DELETE', url: `/api/v1/clusters/${east.id}`, token: root })).statusCode, 204)
      assert.equal((await call(api.app, { method: 'GET', url: `/api/v1/clusters/${east.id}`, token: root })).statusCode, 404)
    })
  })
}

describe('the route table', { timeout: 60_000 }, () => {
  it('declares the access of every route fastify registered, and the walk finds one that does not', { timeout: 30_000 }, async (t) => {
    const api = await startApi(t, 'sqlite')
    assert.ok(api.app.routeCatalogue.length > 40, `${api.app.routeCatalogue.length} routes`)
    assert.deepEqual(unguardedRoutes(api.app), [])
    const other = api.another()
    t.after(() => other.app.close())
    other.app.get('/api/v1/forgotten', () => 'open')
    assert.deepEqual(unguardedRoutes(other.app), ['GET /api/v1/forgotten'])
  })

  it('serves an OpenAPI document holding every registered route and nothing else', { timeout: 30_000 }, async (t) => {
    const api = await startApi(t, 'sqlite')
    const response = await call(api.app, { method: 'GET', url: '/api/v1/openapi.json' })
    assert.equal(response.statusCode, 200)
    const document = response.json<{ openapi: string; paths: Record<string, Record<string, { summary: string }>> }>()
    assert.equal(document.openapi, '3.1.0')
    const documented = Object.entries(document.paths).flatMap(([path, operations]) => Object.keys(operations).map((method) => `${method.toUpperCase()} ${path}`)).sort()
    const registered = api.app.routeCatalogue.filter((route) => !UNGUARDED_URLS.has(route.url)).map((route) => `${route.method} ${openApiPath(route.url)}`).sort()
    assert.deepEqual(documented, registered)
    assert.ok(Object.values(document.paths).every((operations) => Object.values(operations).every((operation) => operation.summary.length > 0)))
    const fewer = buildOpenApiDocument(apiRoutes(api.services).slice(1)) as { paths: Record<string, unknown> }
    assert.notDeepEqual(Object.keys(fewer.paths).sort(), Object.keys(document.paths).sort(), 'the comparison notices a missing route')
  })

  it('has a bad-input case for every route that takes params, a query or a body', { timeout: 30_000 }, async (t) => {
    const api = await startApi(t, 'sqlite')
    const needing = apiRoutes(api.services).filter((route) => route.params !== undefined || route.query !== undefined || route.body !== undefined).map((route) => `${route.method} ${route.url}`)
    assert.deepEqual(needing.filter((route) => !coveredRoutes().has(route)), [])
  })
})
