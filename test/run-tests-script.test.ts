import assert from 'node:assert/strict'
import { resolve } from 'node:path'
import { describe, it } from 'node:test'
import { run } from './support/processes.js'

const SCRIPT = resolve(import.meta.dirname, '..', 'scripts', 'run-tests.ts')

describe('scripts/run-tests.ts', { timeout: 60_000 }, () => {
  it('refuses a suite name it does not know instead of running every suite', { timeout: 30_000 }, async () => {
    const result = await run(process.execPath, ['--import', 'tsx', SCRIPT, 'unti'], { timeoutMs: 20_000 })
    assert.equal(result.code, 2)
    assert.equal(result.stderr, 'run-tests: unknown suite "unti"; use one of unit, integration, all, then any node --test flags\n')
    assert.equal(result.stdout, '', 'no test ran')
  })
})
