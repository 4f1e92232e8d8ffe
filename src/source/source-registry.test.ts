import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { DamselflyError } from '../protocol/damselfly-error.js'
import { SourceRegistry } from './source-registry.js'
import type { Source } from './source.js'

const TEST = { timeout: 1_000 }

function fakeSource(schemes: readonly string[], onClose: () => Promise<void> = () => Promise.resolve()): Source {
  const refuse = (): Promise<never> => Promise.reject(new Error('not used'))
  return { schemes, stat: refuse, fetch: refuse, fetchRange: refuse, close: onClose }
}

describe('SourceRegistry', TEST, () => {
  it('finds the source of a URL by scheme, whatever its case', TEST, () => {
    const http = fakeSource(['http', 'https'])
    const oci = fakeSource(['oci'])
    const registry = new SourceRegistry([http, oci])
    assert.equal(registry.forUrl(new URL('HTTPS://example.com/a')), http)
    assert.equal(registry.forUrl(new URL('oci://registry/library/alpine')), oci)
  })

  it('refuses an unknown scheme with UNSUPPORTED_SCHEME', TEST, () => {
    const registry = new SourceRegistry([fakeSource(['https', 'http'])])
    assert.throws(() => registry.forUrl(new URL('ftp://example.com/a')), (error: unknown) => {
      assert.ok(error instanceof DamselflyError)
      assert.equal(error.code, 'UNSUPPORTED_SCHEME')
      assert.equal(error.message, 'unsupported URL scheme "ftp:" (supported: http, https)')
      return true
    })
  })

  it('refuses two sources for one scheme', TEST, () => {
    assert.throws(() => new SourceRegistry([fakeSource(['http']), fakeSource(['http'])]), /two sources claim the URL scheme "http"/)
  })

  it('closes every source even when one fails', TEST, async () => {
    const closed: string[] = []
    const registry = new SourceRegistry([
      fakeSource(['a'], () => Promise.reject(new Error('disk gone'))),
      fakeSource(['b'], () => { closed.push('b'); return Promise.resolve() }),
    ])
    await assert.rejects(registry.close(), /disk gone/)
    assert.deepEqual(closed, ['b'])
  })
})
