import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { originHeaders, parseContentLength, parseContentRange, parseUnsatisfiedRange, printableUrl } from './http-headers.js'

const TEST = { timeout: 1_000 }

describe('http headers', TEST, () => {
  it('parses Content-Range answers', TEST, () => {
    const cases = [
      { value: 'bytes 0-0/36', expected: { firstByte: 0, lastByte: 0, completeLengthBytes: 36 } },
      { value: 'bytes 5-9/*', expected: { firstByte: 5, lastByte: 9, completeLengthBytes: undefined } },
      { value: 'BYTES 1-2/3', expected: { firstByte: 1, lastByte: 2, completeLengthBytes: 3 } },
      { value: 'bytes 9-5/36', expected: undefined },
      { value: 'bytes 0-36/36', expected: undefined },
      { value: 'bytes */36', expected: undefined },
      { value: 'items 0-1/2', expected: undefined },
      { value: undefined, expected: undefined },
    ]
    for (const { value, expected } of cases) assert.deepEqual(parseContentRange(value), expected, String(value))
  })

  it('parses the complete length of a 416 answer', TEST, () => {
    const cases = [['bytes */0', 0], ['bytes */36', 36], ['bytes 0-1/2', undefined], [undefined, undefined]] as const
    for (const [value, expected] of cases) assert.equal(parseUnsatisfiedRange(value), expected, String(value))
  })

  it('parses Content-Length strictly', TEST, () => {
    const cases = [['0', 0], ['36', 36], [' 7 ', 7], ['-1', undefined], ['1e3', undefined], ['', undefined], [undefined, undefined]] as const
    for (const [value, expected] of cases) assert.equal(parseContentLength(value), expected, String(value))
  })

  it('drops hop-by-hop headers, host and range, and adds a User-Agent', TEST, () => {
    const headers = originHeaders(
      { Authorization: 'Bearer t', Connection: 'close, X-Hop', 'X-Hop': '1', 'Proxy-Connection': 'x', Trailer: 'x', 'Transfer-Encoding': 'chunked', Host: 'h', Range: 'bytes=0-1', Expect: '100-continue', Accept: '*/*' },
      { userAgent: 'damselfly/test' },
    )
    assert.deepEqual(headers, { authorization: 'Bearer t', accept: '*/*', 'user-agent': 'damselfly/test' })
    assert.deepEqual(originHeaders({ 'User-Agent': 'curl/8' }, { userAgent: 'damselfly/test' }), { 'user-agent': 'curl/8' })
  })

  it('prints URLs without credentials or query strings', TEST, () => {
    assert.equal(printableUrl(new URL('https://user:pass@example.com:8443/a/b?X-Amz-Signature=s#f')), 'https://example.com:8443/a/b')
  })
})
