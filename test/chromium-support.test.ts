import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { chromiumSkipReason } from './support/chromium.js'

describe('chromiumSkipReason', { timeout: 5_000 }, () => {
  const present = process.execPath
  const missing = '/nonexistent/chromium'
  for (const [what, path, env, skips] of [
    ['runs when chromium is there', present, {}, false],
    ['runs in CI when chromium is there', present, { CI: 'true' }, false],
    ['skips on a machine without chromium, saying how to install it', missing, {}, true],
    ['runs in CI without chromium, so the launch fails and the run is red', missing, { CI: 'true' }, false],
    ['skips when CI is anything but "true"', missing, { CI: '1' }, true],
  ] as const) {
    it(what, () => {
      const reason = chromiumSkipReason(path, env)
      assert.equal(reason !== undefined, skips, String(reason))
      if (skips) assert.match(reason ?? '', /install-test-deps\.sh/)
    })
  }
})
