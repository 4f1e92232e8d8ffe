import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { isFinalSourceStatus } from './source-status.js'

describe('isFinalSourceStatus', { timeout: 5_000 }, () => {
  it('holds for the 4xx a retry cannot change, and for nothing else', { timeout: 5_000 }, () => {
    const final = [400, 401, 403, 404, 410, 451, 499]
    const notFinal = [0, 200, 206, 304, 399, 408, 429, 500, 502, 503, 504, 599, 404.5, Number.NaN]
    for (const status of final) assert.equal(isFinalSourceStatus(status), true, String(status))
    for (const status of notFinal) assert.equal(isFinalSourceStatus(status), false, String(status))
  })
})
