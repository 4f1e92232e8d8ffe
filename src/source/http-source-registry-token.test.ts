import assert from 'node:assert/strict'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { after, before, describe, it } from 'node:test'
import { contentRange, parseRangeHeader } from '../common/http-range.js'
import { basicAuthorization } from './basic-credentials.js'
import { HttpSource } from './http-source.js'
import type { SourceRequest } from './source.js'
import { readAll, rejection } from './source-test-fixtures.js'

const TEST = { timeout: 5_000 }
const TIMEOUTS = { connectTimeoutMs: 2_000, headersTimeoutMs: 2_000, bodyIdleTimeoutMs: 2_000 }
const ACCOUNT = { username: 'puller', password: 'pw-secret-77' }
const BLOB = Buffer.from('layer bytes of the token-auth registry')
const BLOB_PATH = `/v2/team/app/blobs/sha256:${'a'.repeat(64)}`

/** A Bearer registry and its token service in one server on 127.0.0.1 port 0; `/token` is the realm. */
class TokenRegistry {
  readonly seen: Array<{ path: string; authorization: string | undefined; status: number }> = []
  private readonly valid = new Set<string>()
  private issued = 0
  private readonly server: Server = createServer((req, res) => this.answer(req, res))
  base = ''

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve))
    this.base = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`
  }

  revoke(): void {
    this.valid.clear()
  }

  count(path: string, status?: number): number {
    return this.seen.filter((seen) => seen.path === path && (status === undefined || seen.status === status)).length
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections()
    await new Promise<void>((resolve) => this.server.close(() => { resolve() }))
  }

  private answer(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', this.base)
    const reply = (status: number, headers: Record<string, string | number>, body: Buffer | string): void => {
      this.seen.push({ path: url.pathname, authorization: req.headers.authorization, status })
      res.writeHead(status, headers).end(req.method === 'HEAD' ? undefined : body)
    }
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1]
    const range = parseRangeHeader(req.headers.range, BLOB.length)
    if (url.pathname === '/token') {
      if (req.headers.authorization !== basicAuthorization(ACCOUNT)) {
        reply(401, {}, '{}')
        return
      }
      const issued = `tok-${++this.issued}`
      this.valid.add(issued)
      reply(200, { 'content-type': 'application/json' }, JSON.stringify({ token: issued, expires_in: 300 }))
    } else if (token === undefined || !this.valid.has(token)) {
      reply(401, { 'www-authenticate': `Bearer realm="${this.base}/token",service="test",scope="repository:team/app:pull"` }, '{}')
    } else if (url.pathname !== BLOB_PATH) {
      reply(404, {}, '')
    } else if (range === undefined || range === 'unsatisfiable') {
      reply(200, { 'content-length': BLOB.length, 'accept-ranges': 'bytes' }, BLOB)
    } else {
      const part = BLOB.subarray(range.start, range.end + 1)
      reply(206, { 'content-length': part.length, 'content-range': contentRange(range, BLOB.length) }, part)
    }
  }
}

describe('HttpSource against a Bearer registry with Basic credentials', TEST, () => {
  const registry = new TokenRegistry()
  const source = new HttpSource({}, TIMEOUTS)

  before(() => registry.start())
  after(async () => {
    await source.close()
    await registry.stop()
  })

  const request = (path: string, authorization: string | undefined): SourceRequest => ({
    url: new URL(path, registry.base),
    headers: authorization === undefined ? {} : { Authorization: authorization },
    signal: AbortSignal.timeout(4_000),
  })

  it('exchanges the credentials for a token once, then sends the cached token straight away', TEST, async () => {
    const stat = await source.stat(request(BLOB_PATH, basicAuthorization(ACCOUNT)))
    assert.equal(stat.contentLengthBytes, BLOB.length)
    assert.equal(registry.count('/token', 200), 1)
    const refusedBefore = registry.count(BLOB_PATH, 401)
    const fetched = await source.fetch(request(BLOB_PATH, basicAuthorization(ACCOUNT)))
    assert.ok((await readAll(fetched.body)).equals(BLOB))
    assert.equal(registry.count('/token'), 1, 'the token was cached')
    assert.equal(registry.count(BLOB_PATH, 401), refusedBefore, 'the cached token went first')
  })

  it('gets a new token when the registry stops taking the cached one', TEST, async () => {
    registry.revoke()
    const tokensBefore = registry.count('/token')
    const fetched = await source.fetchRange(request(BLOB_PATH, basicAuthorization(ACCOUNT)), { offset: 0, length: 5 })
    assert.ok((await readAll(fetched.body)).equals(BLOB.subarray(0, 5)))
    assert.equal(registry.count('/token') - tokensBefore, 1)
  })

  it('fails with SOURCE_STATUS 401 naming the token service, without the password, for wrong credentials', TEST, async () => {
    const wrong = { username: ACCOUNT.username, password: 'not-the-pw-42' }
    const error = await rejection(source.stat(request(BLOB_PATH, basicAuthorization(wrong))))
    assert.equal(error.code, 'SOURCE_STATUS')
    assert.equal(error.details.sourceStatus, 401)
    assert.match(error.message, /repository team\/app: the token service 127\.0\.0\.1:\d+ refused these credentials/)
    assert.ok(!error.message.includes(wrong.password))
  })

  const untouched = [
    { name: 'a Bearer header', path: BLOB_PATH, authorization: 'Bearer foreign' },
    { name: 'no header', path: BLOB_PATH, authorization: undefined },
    { name: 'a URL that is no registry API', path: '/files/x.bin', authorization: basicAuthorization(ACCOUNT) },
  ]
  for (const { name, path, authorization } of untouched) {
    it(`passes the 401 on for ${name}`, TEST, async () => {
      const tokensBefore = registry.count('/token')
      const error = await rejection(source.stat(request(path, authorization)))
      assert.equal(error.details.sourceStatus, 401)
      assert.equal(registry.count('/token'), tokensBefore)
    })
  }
})
