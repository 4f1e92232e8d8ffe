import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { operatorUrl } from './operator-url.js'

describe('operatorUrl', () => {
  it('shows where a task comes from and nothing that could be a credential', { timeout: 5_000 }, () => {
    const cases = [
      ['https://bucket.s3.example/a/b.iso?X-Amz-Signature=abc&X-Amz-Credential=AKIA', 'https://bucket.s3.example/a/b.iso'],
      ['https://user:secret@origin.example:8443/file?token=t#frag', 'https://origin.example:8443/file'],
      ['http://origin.example/plain', 'http://origin.example/plain'],
      ['not a url', ''],
    ] as const
    for (const [url, shown] of cases) assert.equal(operatorUrl(url), shown, url)
  })
})
