import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { DamselflyError } from '../protocol/damselfly-error.js'
import { parseManifestUrl } from './manifest-url.js'

const TEST = { timeout: 5_000 }
const DIGEST = `sha256:${'a'.repeat(64)}`

describe('parseManifestUrl', TEST, () => {
  const valid = [
    { url: 'https://reg.example/v2/library/alpine/manifests/3.19', registry: 'https://reg.example', repository: 'library/alpine', reference: '3.19' },
    { url: 'http://127.0.0.1:5000/v2/test/img/manifests/latest', registry: 'http://127.0.0.1:5000', repository: 'test/img', reference: 'latest' },
    { url: `https://reg.example:443/v2/a/b/c/manifests/${DIGEST}`, registry: 'https://reg.example', repository: 'a/b/c', reference: DIGEST },
    { url: 'https://reg.example/v2/my-org/my__img.x/manifests/v1.0_rc-1', registry: 'https://reg.example', repository: 'my-org/my__img.x', reference: 'v1.0_rc-1' },
  ]
  for (const { url, registry, repository, reference } of valid) {
    it(`reads ${url}`, TEST, () => {
      const parsed = parseManifestUrl(url)
      assert.deepEqual({ registry: parsed.registry.origin, repository: parsed.repository, reference: parsed.reference }, { registry, repository, reference })
    })
  }
  const invalid = [
    'reg.example/library/alpine:3.19',
    'ftp://reg.example/v2/library/alpine/manifests/3.19',
    'https://reg.example/v2/library/alpine/blobs/sha256:abc',
    'https://reg.example/v2/manifests/latest',
    'https://reg.example/v2/Library/alpine/manifests/3.19',
    'https://reg.example/v2/library/alpine/manifests/-bad',
    'https://reg.example/v2/library/alpine/manifests/latest?x=1',
    'https://user:secret@reg.example/v2/library/alpine/manifests/3.19',
    'https://reg.example/v2/library/alpine/manifests/3.19/extra',
  ]
  for (const url of invalid) {
    it(`refuses ${url} naming the expected shape`, TEST, () => {
      assert.throws(() => parseManifestUrl(url), (error: unknown) => {
        assert.ok(error instanceof DamselflyError)
        assert.equal(error.code, 'INVALID_ARGUMENT')
        assert.match(error.message, /<http\|https>:\/\/<host>\/v2\/<name>\/manifests\/<tag or digest>/)
        assert.ok(!error.message.includes('secret'))
        return true
      })
    })
  }
})
