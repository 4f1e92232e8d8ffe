import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { credentialOf, isSameOrigin, setSessionCookie } from './session-cookie.js'

function request(fields: { protocol?: string; headers?: Record<string, string>; query?: Record<string, string> }): FastifyRequest {
  return { protocol: fields.protocol ?? 'http', headers: fields.headers ?? {}, query: fields.query ?? {} } as unknown as FastifyRequest
}

function capture(): { reply: FastifyReply; headers: Map<string, string> } {
  const headers = new Map<string, string>()
  const reply = { header: (name: string, value: string) => { headers.set(name, value); return reply } }
  return { reply: reply as unknown as FastifyReply, headers }
}

describe('session cookie', { timeout: 5_000 }, () => {
  it('is HttpOnly, SameSite=Strict and Path=/, and Secure only over TLS', { timeout: 1_000 }, () => {
    for (const [protocol, secure] of [['https', true], ['http', false]] as const) {
      const { reply, headers } = capture()
      setSessionCookie(request({ protocol }), reply, 'dfs_x', 3_600_000)
      const cookie = headers.get('set-cookie') ?? ''
      assert.match(cookie, /^damselfly_session=dfs_x; Path=\/; HttpOnly; SameSite=Strict; Max-Age=3600/)
      assert.equal(cookie.endsWith('; Secure'), secure, protocol)
    }
  })

  it('tells a same-origin change from a cross-site one', { timeout: 1_000 }, () => {
    const cases = [
      { headers: { host: 'manager:8080', origin: 'http://manager:8080' }, same: true },
      { headers: { host: 'localhost:80', origin: 'http://localhost' }, same: true },
      { headers: { host: 'manager:8080', referer: 'http://manager:8080/clusters?page=2' }, same: true },
      { headers: { host: 'manager:8080', origin: 'http://evil.example', referer: 'http://manager:8080/' }, same: false },
      { headers: { host: 'manager:8080', origin: 'null' }, same: false },
      { headers: { host: 'manager:8080' }, same: false },
      { headers: { origin: 'http://manager:8080' }, same: false },
    ]
    for (const { headers, same } of cases) assert.equal(isSameOrigin(request({ headers })), same, JSON.stringify(headers))
  })

  it('reads the Bearer header first, then Basic with the token as password, then access_token, then the cookie', { timeout: 1_000 }, () => {
    const all = { headers: { authorization: 'Bearer dfp_a', cookie: 'other=1; damselfly_session=dfs_c' }, query: { access_token: 'dfp_b' } }
    assert.deepEqual(credentialOf(request(all)), { token: 'dfp_a', from: 'bearer' })
    const basic = (text: string): string => `Basic ${Buffer.from(text).toString('base64')}`
    assert.deepEqual(credentialOf(request({ ...all, headers: { ...all.headers, authorization: basic('harbor:dfp_d') } })), { token: 'dfp_d', from: 'basic' })
    assert.deepEqual(credentialOf(request({ ...all, headers: { ...all.headers, authorization: basic(':dfp_d:with:colons') } })), { token: 'dfp_d:with:colons', from: 'basic' }, 'the password is all after the first colon')
    for (const unusable of [basic('no-colon'), basic('user:'), 'Basic !!!', 'Digest x']) {
      assert.deepEqual(credentialOf(request({ ...all, headers: { ...all.headers, authorization: unusable } })), { token: 'dfp_b', from: 'query' }, unusable)
    }
    assert.deepEqual(credentialOf(request({ headers: { cookie: 'other=1; damselfly_session=dfs_c' } })), { token: 'dfs_c', from: 'cookie' })
    assert.equal(credentialOf(request({})), undefined)
  })
})
