import assert from 'node:assert/strict'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, it, type TestContext } from 'node:test'
import { call, ROOT_PASSWORD, signin, startApi } from './api-fixtures.js'

const PAGE = '<!doctype html><div id="root"></div><script type="module" src="/assets/index-abc.js"></script>'

/** A console build as Vite lays it out: the page, and hashed assets under assets/. */
async function consoleBuild(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'console-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  await mkdir(join(dir, 'assets'))
  await writeFile(join(dir, 'index.html'), PAGE)
  await writeFile(join(dir, 'assets', 'index-abc.js'), 'console.log(1)')
  // Beside the console, where a path that climbs out of it would land.
  await writeFile(join(dir, '..', `${dir.split('/').pop() ?? ''}-beside.txt`), 'NOT-FOR-THE-WEB')
  return dir
}

async function page(app: Parameters<typeof call>[0], url: string, accept = 'text/html'): Promise<ReturnType<typeof call>> {
  return app.inject({ method: 'GET', url, headers: { accept } })
}

describe('the console on the manager\'s REST port', () => {
  it('answers its page for any page address, with a policy that allows nothing but this manager', { timeout: 30_000 }, async (t) => {
    const api = await startApi(t, 'sqlite', { consoleDir: await consoleBuild(t) })
    for (const url of ['/', '/clusters', '/clusters/3/hosts?version=1', '/jobs/distributions/7']) {
      const response = await page(api.app, url)
      assert.equal(response.statusCode, 200, `${url}: ${response.body}`)
      assert.equal(response.body, PAGE, url)
      assert.match(String(response.headers['content-security-policy']), /default-src 'self'.*frame-ancestors 'none'/, url)
      assert.equal(response.headers['x-frame-options'], 'DENY')
      assert.equal(response.headers['cache-control'], 'no-cache', `${url}: a new build must show at the next load`)
    }
    const asset = await page(api.app, '/assets/index-abc.js', '*/*')
    assert.equal(asset.statusCode, 200)
    assert.match(String(asset.headers['content-type']), /javascript/)
    assert.match(String(asset.headers['cache-control']), /immutable/)
  })

  it('leaves the API\'s answers alone: JSON errors, never the page, for API paths and missing files', { timeout: 30_000 }, async (t) => {
    const api = await startApi(t, 'sqlite', { consoleDir: await consoleBuild(t) })
    for (const url of ['/api/v1/nothing', '/oapi/v1/nothing', '/assets/missing.js', '/assets/']) {
      const response = await page(api.app, url)
      assert.equal(response.statusCode, 404, url)
      assert.equal(response.json<{ code: string }>().code, 'NOT_FOUND', url)
    }
    const unauthenticated = await page(api.app, '/api/v1/users/me')
    assert.equal(unauthenticated.statusCode, 401)
    const root = await signin(api.app, 'root', ROOT_PASSWORD)
    const me = await call(api.app, { method: 'GET', url: '/api/v1/users/me', token: root })
    assert.equal(me.statusCode, 200)
    const body = me.json<{ name: string; roles: string[]; permissions: Array<{ object: string; action: string }> }>()
    assert.equal(body.name, 'root')
    assert.deepEqual(body.roles, ['root'])
    assert.ok(body.permissions.some((granted) => granted.object === 'user' && granted.action === 'write'))
  })

  it('serves nothing outside its folder, however the path is spelled', { timeout: 30_000 }, async (t) => {
    const dir = await consoleBuild(t)
    const api = await startApi(t, 'sqlite', { consoleDir: dir })
    const name = `${dir.split('/').pop() ?? ''}-beside.txt`
    for (const url of [`/../${name}`, `/%2e%2e/${name}`, `/assets/..%2f..%2f${name}`, `/..%5c${name}`]) {
      const response = await page(api.app, url, '*/*')
      assert.ok(!response.body.includes('NOT-FOR-THE-WEB'), `${url} answered the file beside the console`)
    }
  })

  it('answers the API\'s 404 for pages when no console was built', { timeout: 30_000 }, async (t) => {
    const api = await startApi(t, 'sqlite')
    const response = await page(api.app, '/clusters')
    assert.equal(response.statusCode, 404)
    assert.equal(response.json<{ code: string }>().code, 'NOT_FOUND')
  })
})
