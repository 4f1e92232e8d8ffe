import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { DamselflyError } from '../../protocol/damselfly-error.js'
import type { ErrorCode } from '../../protocol/error-codes.js'
import { parseDownloadRequest, type DownloadRequest } from './download-request.js'

const TEST = { timeout: 10_000 }
const MIB = 1024 * 1024
const SHA256_HELLO = '2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824'

describe('parseDownloadRequest: valid bodies', TEST, () => {
  it('applies the defaults', TEST, () => {
    const request = parseDownloadRequest({ url: 'https://example.com/files/app.tar.gz' })
    const expected: DownloadRequest = {
      url: 'https://example.com/files/app.tar.gz',
      headers: {},
      tag: undefined,
      application: undefined,
      filteredQueryParams: [],
      pieceLengthBytes: undefined,
      priority: 6,
      digest: undefined,
      disableBackToSource: false,
    }
    assert.deepEqual(request, expected)
  })

  it('keeps every field it was given', TEST, () => {
    const request = parseDownloadRequest({
      url: 'http://example.com/a?b=1',
      headers: { Authorization: 'Bearer t', 'X-Custom': 'v' },
      tag: 'v1',
      application: 'ci',
      filteredQueryParams: ['token'],
      pieceLength: 8 * MIB,
      priority: 0,
      digest: `sha256:${SHA256_HELLO}`,
      disableBackToSource: true,
    })
    const expected: DownloadRequest = {
      url: 'http://example.com/a?b=1',
      headers: { Authorization: 'Bearer t', 'X-Custom': 'v' },
      tag: 'v1',
      application: 'ci',
      filteredQueryParams: ['token'],
      pieceLengthBytes: 8 * MIB,
      priority: 0,
      digest: `sha256:${SHA256_HELLO}`,
      disableBackToSource: true,
    }
    assert.deepEqual(request, expected)
  })

  const normalised: ReadonlyArray<{ name: string; body: Record<string, unknown>; check: (request: DownloadRequest) => void }> = [
    { name: 'the URL', body: { url: 'HTTPS://Example.COM:443/a' }, check: (r) => assert.equal(r.url, 'https://example.com/a') },
    { name: 'an uppercase digest', body: { url: 'https://e.com/a', digest: `sha256:${SHA256_HELLO.toUpperCase()}` }, check: (r) => assert.equal(r.digest, `sha256:${SHA256_HELLO}`) },
    { name: 'an empty digest', body: { url: 'https://e.com/a', digest: '' }, check: (r) => assert.equal(r.digest, undefined) },
    { name: 'an empty tag and application', body: { url: 'https://e.com/a', tag: '', application: '' }, check: (r) => { assert.equal(r.tag, undefined); assert.equal(r.application, undefined) } },
    { name: 'the smallest fixed piece length', body: { url: 'https://e.com/a', pieceLength: 64 * 1024 }, check: (r) => assert.equal(r.pieceLengthBytes, 64 * 1024) },
    { name: 'a tag with unicode', body: { url: 'https://e.com/a', tag: 'version-é-1' }, check: (r) => assert.equal(r.tag, 'version-é-1') },
    { name: 'a header value with a tab and Latin-1 text', body: { url: 'https://e.com/a', headers: { 'X-A': 'a\tcaf\u00e9' } }, check: (r) => assert.deepEqual(r.headers, { 'X-A': 'a\tcaf\u00e9' }) },
  ]
  for (const { name, body, check } of normalised) {
    it(`normalises ${name}`, TEST, () => check(parseDownloadRequest(body)))
  }
})

describe('parseDownloadRequest: invalid bodies', TEST, () => {
  const url = 'https://example.com/a'
  const cases: ReadonlyArray<{ name: string; body: unknown; code: ErrorCode; message: RegExp }> = [
    { name: 'not an object', body: 'https://example.com/a', code: 'INVALID_ARGUMENT', message: /invalid download request/ },
    { name: 'null', body: null, code: 'INVALID_ARGUMENT', message: /invalid download request/ },
    { name: 'no URL', body: {}, code: 'INVALID_ARGUMENT', message: /url/ },
    { name: 'an empty URL', body: { url: '' }, code: 'INVALID_ARGUMENT', message: /url/ },
    { name: 'a URL that is not text', body: { url: 42 }, code: 'INVALID_ARGUMENT', message: /url/ },
    { name: 'a URL too long', body: { url: `${url}?q=${'x'.repeat(8192)}` }, code: 'INVALID_ARGUMENT', message: /url/ },
    { name: 'a malformed URL', body: { url: 'not a url' }, code: 'INVALID_ARGUMENT', message: /malformed URL/ },
    { name: 'a relative URL', body: { url: '/files/app.tar.gz' }, code: 'INVALID_ARGUMENT', message: /malformed URL/ },
    { name: 'an ftp URL', body: { url: 'ftp://example.com/a' }, code: 'UNSUPPORTED_SCHEME', message: /unsupported URL scheme "ftp:" \(supported: http, https\)/ },
    { name: 'a file URL', body: { url: 'file:///etc/passwd' }, code: 'UNSUPPORTED_SCHEME', message: /unsupported URL scheme "file:"/ },
    { name: 'user and password in the URL', body: { url: 'https://user:secret@example.com/a' }, code: 'INVALID_ARGUMENT', message: /credentials in the URL/ },
    { name: 'a user alone in the URL', body: { url: 'https://user@example.com/a' }, code: 'INVALID_ARGUMENT', message: /credentials in the URL/ },
    { name: 'a header value with a newline', body: { url, headers: { 'X-A': 'a\r\nX-Injected: 1' } }, code: 'INVALID_ARGUMENT', message: /headers.*header value must be one line/ },
    { name: 'a header value with a bare LF', body: { url, headers: { 'X-A': 'a\nb' } }, code: 'INVALID_ARGUMENT', message: /header value must be one line/ },
    { name: 'a header value with NUL', body: { url, headers: { 'X-A': 'a\0b' } }, code: 'INVALID_ARGUMENT', message: /header value must be one line/ },
    { name: 'a header value with a control character', body: { url, headers: { 'X-A': 'a\x01b' } }, code: 'INVALID_ARGUMENT', message: /headers\.X-A: header value must be one line without control characters/ },
    { name: 'a header value with DEL', body: { url, headers: { 'X-A': 'a\x7f' } }, code: 'INVALID_ARGUMENT', message: /header value must be one line without control characters/ },
    { name: 'a header value beyond Latin-1', body: { url, headers: { 'X-A': 'caf\u0100' } }, code: 'INVALID_ARGUMENT', message: /header value must be one line without control characters/ },
    { name: 'a header name with a newline, named on one line', body: { url, headers: { 'X\nA': 'b' } }, code: 'INVALID_ARGUMENT', message: /^invalid download request: headers\.X\\u000aA: [^\n]*$/ },
    { name: 'a header name with a space', body: { url, headers: { 'X A': 'b' } }, code: 'INVALID_ARGUMENT', message: /headers\.X A: / },
    { name: 'a header name with a colon', body: { url, headers: { 'X-A:': 'b' } }, code: 'INVALID_ARGUMENT', message: /headers\.X-A:: / },
    { name: 'a header value that is not text', body: { url, headers: { 'X-A': 1 } }, code: 'INVALID_ARGUMENT', message: /headers/ },
    { name: 'priority 7', body: { url, priority: 7 }, code: 'INVALID_ARGUMENT', message: /priority/ },
    { name: 'priority -1', body: { url, priority: -1 }, code: 'INVALID_ARGUMENT', message: /priority/ },
    { name: 'priority 1.5', body: { url, priority: 1.5 }, code: 'INVALID_ARGUMENT', message: /priority/ },
    { name: 'an unknown digest algorithm', body: { url, digest: `md5:${'0'.repeat(32)}` }, code: 'INVALID_ARGUMENT', message: /digest must be/ },
    { name: 'a digest of the wrong length', body: { url, digest: `sha256:${SHA256_HELLO.slice(2)}` }, code: 'INVALID_ARGUMENT', message: /sha256 digest needs 64 hex digits/ },
    { name: 'a piece length under 64 KiB', body: { url, pieceLength: 1024 }, code: 'INVALID_ARGUMENT', message: /piece length must be an integer from 65536/ },
    { name: 'a piece length over 1 GiB', body: { url, pieceLength: 2 * 1024 * MIB }, code: 'INVALID_ARGUMENT', message: /piece length must be an integer from 65536/ },
    { name: 'a piece length of zero', body: { url, pieceLength: 0 }, code: 'INVALID_ARGUMENT', message: /pieceLength/ },
    { name: 'a piece length that is not whole', body: { url, pieceLength: 4.5 * MIB + 0.5 }, code: 'INVALID_ARGUMENT', message: /pieceLength/ },
    { name: 'a tag with a newline', body: { url, tag: 'a\nb' }, code: 'INVALID_ARGUMENT', message: /tag: must not contain control characters/ },
    { name: 'a tag with NUL', body: { url, tag: 'a\0' }, code: 'INVALID_ARGUMENT', message: /tag: must not contain control characters/ },
    { name: 'an application with DEL', body: { url, application: 'a\x7f' }, code: 'INVALID_ARGUMENT', message: /application: must not contain control characters/ },
    { name: 'a tag over 256 characters', body: { url, tag: 't'.repeat(257) }, code: 'INVALID_ARGUMENT', message: /tag/ },
    { name: 'an empty filtered query parameter', body: { url, filteredQueryParams: [''] }, code: 'INVALID_ARGUMENT', message: /filteredQueryParams/ },
    { name: 'disableBackToSource as text', body: { url, disableBackToSource: 'yes' }, code: 'INVALID_ARGUMENT', message: /disableBackToSource/ },
  ]
  for (const { name, body, code, message } of cases) {
    it(`refuses ${name} with ${code}`, TEST, () => {
      assert.throws(() => parseDownloadRequest(body), (error: unknown) => {
        assert.ok(error instanceof DamselflyError, String(error))
        assert.equal(error.code, code)
        assert.match(error.message, message)
        return true
      })
    })
  }
})
