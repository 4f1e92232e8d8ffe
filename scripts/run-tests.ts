// Runs the test suites with node:test and the TAP reporter, whose last lines are the counts.
// usage: node --import tsx scripts/run-tests.ts [unit|integration|all] [extra node --test flags]
// Unit tests live beside the code (src/**/*.test.ts, and bench/**/*.test.ts for the benches' pure
// parts); integration suites in test/. The console's component tests (Vitest, in console/) run
// first with the unit suites, so node:test's counts still end the output.
import { spawnSync } from 'node:child_process'
import { readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'

const SUITES = ['unit', 'integration', 'all'] as const
type Suite = (typeof SUITES)[number]

function isSuite(value: string): value is Suite {
  return (SUITES as readonly string[]).includes(value)
}

function find(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) find(path, out)
    else if (name.endsWith('.test.ts')) out.push(path)
  }
  return out
}

const [first, ...rest] = process.argv.slice(2)
const named = first !== undefined && !first.startsWith('-')
if (named && !isSuite(first)) {
  // A typo must not quietly run every suite instead of the one meant.
  process.stderr.write(`run-tests: unknown suite ${JSON.stringify(first)}; use one of ${SUITES.join(', ')}, then any node --test flags\n`)
  process.exit(2)
}
const which: Suite = named && isSuite(first) ? first : 'all'
const extra = named ? rest : process.argv.slice(2)

if (which !== 'integration') {
  const consoleTests = spawnSync('npx', ['vitest', 'run'], { cwd: 'console', stdio: 'inherit' })
  if (consoleTests.status !== 0) {
    process.stderr.write('run-tests: the console\'s component tests failed\n')
    process.exit(consoleTests.status ?? 1)
  }
}

const files = [
  ...(which === 'integration' ? [] : [...find('src'), ...find('bench')]),
  ...(which === 'unit' ? [] : find('test')),
].sort()

// Integration suites start real processes on a 2-core machine; two files at a time keeps them honest.
const result = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-reporter=tap', '--test-concurrency=2', '--test-timeout=600000', ...extra, ...files],
  { stdio: 'inherit' },
)
process.exit(result.status ?? 1)
