import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { parseWwwAuthenticate, type AuthChallenge } from './www-authenticate.js'

const TEST = { timeout: 5_000 }

const CASES: ReadonlyArray<{ name: string; header: string | readonly string[] | undefined; expected: AuthChallenge | undefined }> = [
  {
    name: 'distribution\'s bearer challenge',
    header: 'Bearer realm="https://auth.example/token",service="registry.example",scope="repository:library/alpine:pull"',
    expected: { scheme: 'bearer', realm: 'https://auth.example/token', service: 'registry.example', scope: 'repository:library/alpine:pull' },
  },
  { name: 'basic with a realm', header: 'Basic realm="basic-realm"', expected: { scheme: 'basic', realm: 'basic-realm' } },
  { name: 'a bare scheme', header: 'Basic', expected: { scheme: 'basic' } },
  { name: 'scheme and names in any case', header: 'BEARER Realm="r", SERVICE="s"', expected: { scheme: 'bearer', realm: 'r', service: 's' } },
  { name: 'token values and spaces around =', header: 'Bearer realm = https://a/t , service=svc', expected: { scheme: 'bearer', realm: 'https://a/t', service: 'svc' } },
  { name: 'escapes inside quotes', header: 'Bearer realm="a\\"b\\\\c", scope="x,y"', expected: { scheme: 'bearer', realm: 'a"b\\c', scope: 'x,y' } },
  { name: 'several scopes in one value', header: 'Bearer realm="r",scope="repository:a:pull repository:b:pull"', expected: { scheme: 'bearer', realm: 'r', scope: 'repository:a:pull repository:b:pull' } },
  { name: 'the first of a repeated parameter', header: 'Bearer realm="first", realm="second"', expected: { scheme: 'bearer', realm: 'first' } },
  { name: 'unknown parameters are ignored', header: 'Bearer error="invalid_token", realm="r"', expected: { scheme: 'bearer', realm: 'r' } },
  { name: 'an unknown scheme before a known one', header: 'Negotiate abc==, Bearer realm="r"', expected: { scheme: 'bearer', realm: 'r' } },
  { name: 'an unknown scheme with params first', header: 'Digest realm="d", nonce="n", Basic realm="b"', expected: { scheme: 'basic', realm: 'b' } },
  { name: 'the first known challenge wins', header: 'Basic realm="b", Bearer realm="r"', expected: { scheme: 'basic', realm: 'b' } },
  { name: 'several headers', header: ['Negotiate', 'Bearer realm="r"'], expected: { scheme: 'bearer', realm: 'r' } },
  { name: 'empty quoted value', header: 'Bearer realm=""', expected: { scheme: 'bearer', realm: '' } },
  { name: 'an unterminated quote keeps nothing of the parameter', header: 'Bearer service="s", realm="r', expected: { scheme: 'bearer', service: 's' } },
  { name: 'trailing commas', header: 'Bearer realm="r",,', expected: { scheme: 'bearer', realm: 'r' } },
  { name: 'only an unknown scheme', header: 'Negotiate', expected: undefined },
  { name: 'a token68 of an unknown scheme', header: 'NTLM TlRMTVNTUAABAAAAB4IIAAAAAAAAAAAAAAAAAAAAAAA=', expected: undefined },
  { name: 'nothing', header: '', expected: undefined },
  { name: 'absent', header: undefined, expected: undefined },
  { name: 'garbage', header: '"=,,=="', expected: undefined },
]

describe('parseWwwAuthenticate', TEST, () => {
  for (const { name, header, expected } of CASES) {
    it(name, TEST, () => {
      assert.deepEqual(parseWwwAuthenticate(header), expected)
    })
  }
})
