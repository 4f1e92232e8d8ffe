import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { describe, it } from 'node:test'
import { promisify } from 'node:util'
import { DAEMON_NODE_OPTIONS } from './node-options.js'

const TEST = { timeout: 10_000 }
const MIB = 1024 * 1024

describe('the daemon\'s Node options', () => {
  it('are the ones on dfdaemon\'s first line, so the installed command runs with them', TEST, () => {
    const entry = readFileSync(new URL('../cli/dfdaemon.ts', import.meta.url), 'utf8')
    assert.equal(entry.split('\n')[0], `#!/usr/bin/env -S node ${DAEMON_NODE_OPTIONS.join(' ')}`)
  })

  it('give this node a young generation of at most 2 MiB (1 MiB a half)', TEST, async () => {
    const script = 'const v8 = require("node:v8"); let kept = []; for (let i = 0; i < 1e6; i++) { kept.push({ i }); if (kept.length > 100) kept = [] }'
      + '; console.log(v8.getHeapSpaceStatistics().find((space) => space.space_name === "new_space").space_size)'
    const { stdout } = await promisify(execFile)(process.execPath, [...DAEMON_NODE_OPTIONS, '-e', script])
    const youngBytes = Number(stdout.trim())
    assert.ok(youngBytes > 0 && youngBytes <= 2 * MIB, `new space is ${youngBytes} bytes`)
  })
})
