import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { checkRegistryPath } from './registry-path.js'

const TEST = { timeout: 10_000 }

describe('checkRegistryPath', TEST, () => {
  const accepted = [
    '/v2/', '/v2', '/v2/library/alpine/manifests/3.19', `/v2/library/alpine/blobs/sha256:${'a'.repeat(64)}`,
    '/v2/a/blobs/sha256%3Aabc', '/v2/my.repo/x..y/tags/list?n=10', '/v2/a/.hidden/manifests/v1', '/v2/a/...', '/v2/x?path=/v2/../debug',
  ]
  for (const target of accepted) {
    it(`accepts ${target}`, TEST, () => assert.equal(checkRegistryPath(target), undefined))
  }

  const refused: ReadonlyArray<readonly [string, 'not-a-registry-path' | 'dot-segment']> = [
    ['/', 'not-a-registry-path'],
    ['/debug/vars', 'not-a-registry-path'],
    ['/v2x/foo', 'not-a-registry-path'],
    ['/v3/', 'not-a-registry-path'],
    ['http://registry/v2/', 'not-a-registry-path'],
    ['/V2/', 'not-a-registry-path'],
    ['/v2%2f..%2fdebug/vars', 'not-a-registry-path'],
    ['/v2/../debug/vars', 'dot-segment'],
    ['/v2/..', 'dot-segment'],
    ['/v2/./a', 'dot-segment'],
    ['/v2/%2e%2e/debug/vars', 'dot-segment'],
    ['/v2/%2E%2e/debug/vars', 'dot-segment'],
    ['/v2/.%2e/debug/vars', 'dot-segment'],
    ['/v2/%2e./debug/vars', 'dot-segment'],
    ['/v2/%2e/a', 'dot-segment'],
    ['/v2/a%2f..%2f..%2fdebug/vars', 'dot-segment'],
    ['/v2/a%2F%2E%2E%2F%2E%2E%2Fdebug', 'dot-segment'],
    ['/v2/a/..\\..\\debug', 'dot-segment'],
    ['/v2/a%5c..%5c..%5cdebug', 'dot-segment'],
    ['/v2/a/../../debug?x=1', 'dot-segment'],
    ['/v2/%zz', 'dot-segment'],
  ]
  for (const [target, reason] of refused) {
    it(`refuses ${target} as ${reason}`, TEST, () => {
      const refusal = checkRegistryPath(target)
      assert.equal(refusal?.refused, reason)
      assert.equal(refusal.error.code, 'INVALID_ARGUMENT')
    })
  }

  it('accepts only paths that a URL parser leaves, decoded, where they spell', TEST, () => {
    const segment = fc.oneof(
      fc.constantFrom('.', '..', '%2e', '%2E', '%2e%2e', '.%2e', '%2e.', '%2f', '%2F', '%5c', '\\', 'a%2f..', '...', '.a', 'a.', ''),
      fc.stringMatching(/^[a-z0-9_-]{1,6}$/),
    )
    fc.assert(fc.property(fc.array(segment, { maxLength: 6 }), (segments) => {
      const target = `/v2/${segments.join('/')}`
      // What a registry reads: the path decoded once, a backslash taken as a slash.
      const read = decodeURIComponent(target).replaceAll('\\', '/')
      if (checkRegistryPath(target) === undefined) assert.equal(new URL(read, 'http://registry.invalid').pathname, read, target)
    }), { numRuns: 1000 })
  })
})
