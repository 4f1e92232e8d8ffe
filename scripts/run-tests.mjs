#!/usr/bin/env node
// Runs the test suites with node:test and the TAP reporter, whose last lines are the counts.
// usage: node scripts/run-tests.mjs [unit|integration|all] [extra node --test flags]
// Unit tests live beside the code (src/**/*.test.ts); integration suites in test/.
import { spawnSync } from 'node:child_process'
import { readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'

const which = process.argv[2] && !process.argv[2].startsWith('-') ? process.argv[2] : 'all'
const extra = process.argv.slice(which === process.argv[2] ? 3 : 2)

function find(dir, out = []) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) find(path, out)
    else if (name.endsWith('.test.ts')) out.push(path)
  }
  return out
}

const files = [
  ...(which === 'integration' ? [] : find('src')),
  ...(which === 'unit' ? [] : find('test')),
].sort()

// Integration suites start real processes on a 2-core machine; two files at a time keeps them honest.
const result = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-reporter=tap', '--test-concurrency=2', '--test-timeout=600000', ...extra, ...files],
  { stdio: 'inherit' },
)
process.exit(result.status ?? 1)
