import assert from 'node:assert/strict'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve, sep } from 'node:path'
import { describe, it } from 'node:test'
import { ERROR_CODES } from '../src/protocol/error-codes.js'

const SRC = resolve(import.meta.dirname, '..', 'src')

/**
 * Which top-level folders each folder of src/ may import (docs/architecture.md: imports flow one
 * way), as each folder's README says; a test keeps the two in step. The scheduler neither fetches
 * nor stores content: source/ and storage/ are the daemon's.
 */
const MAY_IMPORT: Record<string, readonly string[]> = {
  protocol: ['protocol'],
  common: ['protocol', 'common'],
  security: ['protocol', 'common', 'security'],
  source: ['protocol', 'common', 'source'],
  storage: ['protocol', 'common', 'storage'],
  'manager-client': ['protocol', 'common', 'security', 'manager-client'],
  daemon: ['protocol', 'common', 'security', 'source', 'storage', 'manager-client', 'daemon'],
  scheduler: ['protocol', 'common', 'security', 'manager-client', 'scheduler'],
  manager: ['protocol', 'common', 'security', 'source', 'storage', 'manager'],
  cli: ['protocol', 'common', 'security', 'source', 'storage', 'manager-client', 'daemon', 'scheduler', 'manager', 'cli'],
}

/** protocol/ is pure: ids, math, digests and tables, no I/O. */
const PROTOCOL_BUILTINS = new Set(['node:crypto', 'node:zlib'])
/** The generated control-plane types need protobuf's wire format and grpc-js's service shapes. */
const PROTOCOL_PACKAGES = new Set(['zod', '@bufbuild/protobuf/wire', '@grpc/grpc-js'])

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) return sourceFiles(path)
    return name.endsWith('.ts') ? [path] : []
  })
}

function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8')
  const patterns = [
    /^\s*(?:import|export)\s[^'"]*?\sfrom\s+['"]([^'"]+)['"]/gm,
    /^\s*import\s+['"]([^'"]+)['"]/gm,
    /import\(\s*['"]([^'"]+)['"]\s*\)/g,
  ]
  return patterns.flatMap((pattern) => [...text.matchAll(pattern)].map((match) => match[1] ?? ''))
}

/** Tests and their fixtures may use node:test and node:assert; the direction of imports applies to them all the same. */
function isTest(file: string): boolean {
  return file.endsWith('.test.ts') || file.endsWith('.contract.ts') || file.endsWith('-fixtures.ts')
}

function topFolder(file: string): string {
  return relative(SRC, file).split(sep)[0] ?? ''
}

/** Every import of every file under src/, with the top-level folders it goes from and to (`to` undefined for a package or builtin). */
function allImports(): Array<{ file: string; specifier: string; from: string; to: string | undefined }> {
  return sourceFiles(SRC).flatMap((file) => importsOf(file).map((specifier) => ({
    file: relative(SRC, file),
    specifier,
    from: topFolder(file),
    to: specifier.startsWith('.') ? topFolder(resolve(dirname(file), specifier)) : undefined,
  })))
}

/** A cycle in a directed graph, as the path that closes it, or undefined when there is none. */
function findCycle(edges: ReadonlyMap<string, ReadonlySet<string>>): string[] | undefined {
  const done = new Set<string>()
  const path: string[] = []
  const visit = (node: string): string[] | undefined => {
    const open = path.indexOf(node)
    if (open >= 0) return [...path.slice(open), node]
    if (done.has(node)) return undefined
    path.push(node)
    for (const next of edges.get(node) ?? []) {
      const cycle = visit(next)
      if (cycle !== undefined) return cycle
    }
    path.pop()
    done.add(node)
    return undefined
  }
  for (const node of edges.keys()) {
    const cycle = visit(node)
    if (cycle !== undefined) return cycle
  }
  return undefined
}

/** Which folders of src/ each folder imports, itself left out. */
function folderGraph(): Map<string, Set<string>> {
  const graph = new Map<string, Set<string>>()
  for (const { from, to } of allImports()) {
    if (to === undefined || to === from) continue
    graph.set(from, (graph.get(from) ?? new Set()).add(to))
  }
  return graph
}

describe('architecture', { timeout: 30_000 }, () => {
  it('reads imports of every form: it finds the imports of files it knows', { timeout: 10_000 }, () => {
    // If a pattern broke, the checks below would pass with nothing to check.
    assert.deepEqual(importsOf(join(SRC, 'common', 'rendezvous.ts')), ['node:crypto'])
    assert.deepEqual(importsOf(join(SRC, 'scheduler', 'message-sink.ts')), [], 'a file that imports nothing')
    const multiLine = importsOf(join(SRC, 'scheduler', 'peer-events.ts'))
    assert.ok(multiLine.includes('../protocol/generated/damselfly/scheduler/v1/scheduler.js'), `a type import over several lines: ${multiLine.join(', ')}`)
    assert.ok(multiLine.includes('./request-parsing.js'))
    const dynamic = importsOf(join(SRC, 'cli', 'dfget', 'ensure-daemon.ts'))
    assert.ok(dynamic.includes('../../daemon/config.js'), `a dynamic import: ${dynamic.join(', ')}`)
    const edges = folderGraph()
    for (const [from, to] of [['common', 'protocol'], ['daemon', 'storage'], ['daemon', 'source'], ['scheduler', 'security'], ['cli', 'daemon'], ['cli', 'scheduler']] as const) {
      assert.ok(edges.get(from)?.has(to), `src/${from} imports src/${to}`)
    }
    assert.ok(allImports().length > 500, `${allImports().length} imports found under src/`)
  })

  it('has no cycle between the folders of src/', { timeout: 10_000 }, () => {
    assert.deepEqual(findCycle(folderGraph()), undefined)
    const table = new Map(Object.entries(MAY_IMPORT).map(([from, to]) => [from, new Set(to.filter((folder) => folder !== from))]))
    assert.deepEqual(findCycle(table), undefined, 'nor does the table allow one')
    // The check itself: a cycle is found when there is one.
    assert.deepEqual(findCycle(new Map([['a', new Set(['b'])], ['b', new Set(['c'])], ['c', new Set(['a'])]])), ['a', 'b', 'c', 'a'])
  })

  it('holds each folder to what its README says it may import', { timeout: 10_000 }, () => {
    for (const name of readdirSync(SRC)) {
      if (!statSync(join(SRC, name)).isDirectory()) continue
      const readme = readFileSync(join(SRC, name, 'README.md'), 'utf8')
      const rule = readme.split('\n').find((line) => /may import|imports nothing/i.test(line))
      assert.ok(rule !== undefined, `src/${name}/README.md says what it may import`)
      const named = /everything in src\//i.test(rule)
        ? Object.keys(MAY_IMPORT).filter((folder) => folder !== name)
        : [...rule.matchAll(/src\/([a-z-]+)/g)].map((match) => match[1] ?? '').filter((folder) => folder !== '')
      assert.deepEqual([...new Set([...named, name])].sort(), [...(MAY_IMPORT[name] ?? [])].sort(), `src/${name}/README.md: ${rule}`)
    }
  })

  it('keeps imports flowing one way between the folders of src/', { timeout: 30_000 }, () => {
    const violations: string[] = []
    for (const file of sourceFiles(SRC)) {
      const from = topFolder(file)
      const allowed = MAY_IMPORT[from]
      assert.ok(allowed, `src/${from} is not in the architecture's import table; add it`)
      for (const specifier of importsOf(file)) {
        if (specifier.startsWith('.')) {
          const to = topFolder(resolve(dirname(file), specifier))
          if (!allowed.includes(to)) violations.push(`${relative(SRC, file)} imports ${specifier} (src/${from} may not import src/${to})`)
        } else if (isTest(file)) {
          continue
        } else if (from === 'protocol' && specifier.startsWith('node:') && !PROTOCOL_BUILTINS.has(specifier)) {
          violations.push(`${relative(SRC, file)} imports ${specifier}: protocol/ must not do I/O`)
        } else if (from === 'protocol' && !specifier.startsWith('node:') && !PROTOCOL_PACKAGES.has(specifier)) {
          violations.push(`${relative(SRC, file)} imports package ${specifier}: protocol/ has no dependencies`)
        }
      }
    }
    assert.deepEqual(violations, [])
  })

  it('gives every folder of src/ a README of at most 15 lines', { timeout: 10_000 }, () => {
    for (const name of readdirSync(SRC)) {
      if (!statSync(join(SRC, name)).isDirectory()) continue
      const readme = join(SRC, name, 'README.md')
      const lines = readFileSync(readme, 'utf8').trimEnd().split('\n')
      assert.ok(lines.length <= 15, `src/${name}/README.md has ${lines.length} lines`)
    }
  })

  it('documents every error code in docs/errors.md with its HTTP and gRPC status', { timeout: 10_000 }, () => {
    const text = readFileSync(resolve(SRC, '..', 'docs', 'errors.md'), 'utf8')
    const documented = new Map<string, { http: number; grpc: number }>()
    for (const match of text.matchAll(/^\| `([A-Z_]+)` \| (\d+) \| (\d+) \|/gm)) {
      documented.set(match[1] ?? '', { http: Number(match[2]), grpc: Number(match[3]) })
    }
    const table = new Map(Object.entries(ERROR_CODES).map(([code, entry]) => [code, { http: entry.httpStatus, grpc: entry.grpcStatus }]))
    assert.deepEqual(documented, table)
  })
})
