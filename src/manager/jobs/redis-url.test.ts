import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { isDamselflyError } from '../../protocol/damselfly-error.js'
import { parseRedisUrl } from './redis-url.js'

describe('parseRedisUrl', () => {
  const cases = [
    { url: 'redis://127.0.0.1:6379', options: { host: '127.0.0.1', port: 6379, db: 0 } },
    { url: 'redis://redis.example', options: { host: 'redis.example', port: 6379, db: 0 } },
    { url: 'redis://:s%40cret@10.0.0.5:6380/2', options: { host: '10.0.0.5', port: 6380, db: 2, password: 's@cret' } },
    { url: 'redis://jobs:pw@[::1]:7000/', options: { host: '::1', port: 7000, db: 0, username: 'jobs', password: 'pw' } },
    { url: 'rediss://redis.example:6390', options: { host: 'redis.example', port: 6390, db: 0, tls: {} } },
  ] as const
  for (const { url, options } of cases) {
    it(`reads ${url}`, () => {
      assert.deepEqual(parseRedisUrl(url), options)
    })
  }

  const invalid = ['127.0.0.1:6379', 'http://127.0.0.1:6379', 'redis://:hunter2@127.0.0.1:6379/x', 'redis://:hunter2@127.0.0.1:6379/-1', 'redis://']
  for (const url of invalid) {
    it(`refuses ${url} without showing its password`, () => {
      assert.throws(() => parseRedisUrl(url), (err) => isDamselflyError(err) && err.code === 'CONFIG_INVALID' && !err.message.includes('hunter2'))
    })
  }
})
