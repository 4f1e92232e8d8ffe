import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { ManualClock } from '../common/manual-clock.js'
import { basicAuthorization, type RegistryCredentials } from './basic-credentials.js'
import { RegistryAuthorizer, parseTokenResponse } from './registry-authorizer.js'
import { ACCOUNT, FakeRegistry, REGISTRY, SERVICE, type FakeRegistryOptions } from './registry-test-fixtures.js'
import { rejection } from './source-test-fixtures.js'

const TEST = { timeout: 5_000 }
const REPO = 'library/alpine'

function setup(options: FakeRegistryOptions): { registry: FakeRegistry; clock: ManualClock; authorizer: RegistryAuthorizer } {
  const registry = new FakeRegistry(options)
  const clock = new ManualClock(1_000_000)
  return { registry, clock, authorizer: new RegistryAuthorizer({ dispatcher: registry.agent, clock }, { tokenCacheSize: 2 }) }
}

/** `null` for an anonymous client (an undefined argument would take the default). */
function access(credentials: RegistryCredentials | null = ACCOUNT, authorization?: string): Parameters<RegistryAuthorizer['authorize']>[0] {
  return { registry: new URL(REGISTRY), repository: REPO, credentials: credentials ?? undefined, authorization, signal: AbortSignal.timeout(4_000) }
}

describe('RegistryAuthorizer', TEST, () => {
  it('sends nothing to a registry that lets anyone in', TEST, async () => {
    const { registry, authorizer } = setup({ auth: 'anonymous' })
    assert.equal(await authorizer.authorize(access(null)), undefined)
    assert.equal(registry.tokenRequests().length, 0)
  })

  it('gets a pull token with the account as Basic and caches it until shortly before it expires', TEST, async () => {
    const { registry, clock, authorizer } = setup({ auth: 'bearer', tokenTtlSeconds: 300 })
    assert.equal(await authorizer.authorize(access()), 'Bearer tok-1')
    const [asked] = registry.tokenRequests()
    const query = new URL(asked?.path ?? '', 'https://x').searchParams
    assert.equal(query.get('service'), SERVICE)
    assert.equal(query.get('scope'), `repository:${REPO}:pull`)
    assert.equal(asked?.authorization, basicAuthorization(ACCOUNT))
    assert.equal(authorizer.cachedAuthorization(access()), 'Bearer tok-1')

    clock.advance(269_000)
    assert.equal(await authorizer.authorize(access()), 'Bearer tok-1', 'cached within its life less the 30 s margin')
    assert.equal(registry.tokenRequests().length, 1)
    clock.advance(1_000)
    assert.equal(authorizer.cachedAuthorization(access()), undefined)
    assert.equal(await authorizer.authorize(access()), 'Bearer tok-2', 'renewed 30 s before expiry')
    assert.equal(registry.tokenRequests().length, 2)
  })

  it('reads access_token and gives a token without expires_in 60 s, renewed 6 s early', TEST, async () => {
    const { registry, clock, authorizer } = setup({ auth: 'bearer', tokenField: 'access_token', tokenTtlSeconds: undefined })
    assert.equal(await authorizer.authorize(access()), 'Bearer tok-1')
    clock.advance(53_999)
    assert.equal(await authorizer.authorize(access()), 'Bearer tok-1')
    clock.advance(1)
    assert.equal(await authorizer.authorize(access()), 'Bearer tok-2')
    assert.equal(registry.tokenRequests().length, 2)
  })

  it('keeps tokens apart per account and per repository, and forgets the least recently used', TEST, async () => {
    const { registry, authorizer } = setup({ auth: 'bearer', tokenTtlSeconds: 300 })
    await authorizer.authorize(access())
    const other = { ...access(), credentials: { username: ACCOUNT.username, password: 'other' } }
    await rejection(authorizer.authorize(other))
    assert.equal(await authorizer.authorize({ ...access(), repository: 'library/busybox' }), 'Bearer tok-2')
    assert.equal(await authorizer.authorize({ ...access(), repository: 'library/debian' }), 'Bearer tok-3')
    assert.equal(authorizer.cachedAuthorization(access()), undefined, 'three repositories in a cache of two')
    assert.equal(registry.tokenRequests().length, 4)
  })

  it('refuses a wrong password with SOURCE_STATUS 401 in one line without the secret', TEST, async () => {
    const { authorizer } = setup({ auth: 'bearer' })
    const credentials = { username: ACCOUNT.username, password: 'wrong-pw-123' }
    const error = await rejection(authorizer.authorize(access(credentials)))
    assert.equal(error.code, 'SOURCE_STATUS')
    assert.equal(error.details.sourceStatus, 401)
    assert.match(error.message, /^registry reg\.test, repository library\/alpine: the token service auth\.test refused these credentials \(401 Unauthorized\)$/)
    assert.ok(!error.message.includes('wrong-pw-123') && !error.message.includes(basicAuthorization(credentials).slice(6)))
  })

  it('shares one token request between callers asking at once', TEST, async () => {
    const { registry, authorizer } = setup({ auth: 'bearer', tokenTtlSeconds: 300 })
    const answers = await Promise.all([authorizer.authorize(access()), authorizer.authorize(access()), authorizer.authorize(access())])
    assert.deepEqual(answers, ['Bearer tok-1', 'Bearer tok-1', 'Bearer tok-1'])
    assert.equal(registry.tokenRequests().length, 1)
  })

  it('gets an anonymous token without an account', TEST, async () => {
    const { registry, authorizer } = setup({ auth: 'bearer' })
    assert.equal(await authorizer.authorize(access(null)), 'Bearer tok-1')
    assert.equal(registry.tokenRequests()[0]?.authorization, undefined)
  })

  it('answers a Basic challenge with the account, and fails without one', TEST, async () => {
    const { registry, authorizer } = setup({ auth: 'basic' })
    assert.equal(await authorizer.authorize(access()), basicAuthorization(ACCOUNT))
    const error = await rejection(authorizer.authorize(access(null)))
    assert.equal(error.code, 'SOURCE_STATUS')
    assert.equal(error.details.sourceStatus, 401)
    assert.match(error.message, /wants a username and password/)
    assert.equal(registry.tokenRequests().length, 0)
  })

  const callerCases = [
    { name: 'uses a header the registry takes as is', auth: 'basic', header: basicAuthorization(ACCOUNT), credentials: null, expected: basicAuthorization(ACCOUNT), tokens: 0 },
    { name: 'replaces a refused header when an account is given', auth: 'bearer', header: 'Bearer stale', credentials: ACCOUNT, expected: 'Bearer tok-1', tokens: 1 },
  ] as const
  for (const { name, auth, header, credentials, expected, tokens } of callerCases) {
    it(`caller's Authorization: ${name}`, TEST, async () => {
      const { registry, authorizer } = setup({ auth })
      assert.equal(await authorizer.authorize(access(credentials, header)), expected)
      assert.equal(registry.tokenRequests().length, tokens)
      assert.equal(registry.registryRequests()[0]?.authorization, header, 'the ping carried the caller\'s header')
    })
  }

  it('caller\'s Authorization: a refused one without an account fails with 401', TEST, async () => {
    const { authorizer } = setup({ auth: 'bearer' })
    const error = await rejection(authorizer.authorize(access(null, 'Bearer stale-token-xyz')))
    assert.equal(error.details.sourceStatus, 401)
    assert.match(error.message, /refused the Authorization header given/)
    assert.ok(!error.message.includes('stale-token-xyz'))
  })

  it('forgets a token the registry refused', TEST, async () => {
    const { authorizer } = setup({ auth: 'bearer', tokenTtlSeconds: 300 })
    await authorizer.authorize(access())
    authorizer.forget(access())
    assert.equal(authorizer.cachedAuthorization(access()), undefined)
  })
})

describe('parseTokenResponse', TEST, () => {
  const cases = [
    { body: '{"token":"a","expires_in":120}', expected: { token: 'a', expiresInSeconds: 120 } },
    { body: '{"access_token":"b"}', expected: { token: 'b', expiresInSeconds: 60 } },
    { body: '{"token":"","access_token":"c","expires_in":-5}', expected: { token: 'c', expiresInSeconds: 60 } },
    { body: '{"token":"d","expires_in":"300"}', expected: { token: 'd', expiresInSeconds: 60 } },
    { body: '{"expires_in":300}', expected: undefined },
    { body: '[]', expected: undefined },
    { body: 'not json', expected: undefined },
  ]
  for (const { body, expected } of cases) {
    it(body, TEST, () => {
      assert.deepEqual(parseTokenResponse(Buffer.from(body)), expected)
    })
  }
})
