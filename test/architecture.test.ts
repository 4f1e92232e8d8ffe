import assert from 'node:assert/strict'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve, sep } from 'node:path'
import { describe, it } from 'node:test'
import { ERROR_CODES } from '../src/protocol/error-codes.js'

const SRC = resolve(import.meta.dirname, '..', 'src')

/** Which top-level folders each folder of src/ may import (ARCHITECTURE.md: imports flow one way). */
const MAY_IMPORT: Record<string, readonly string[]> = {
  protocol: ['protocol'],
  common: ['protocol', 'common'],
  security: ['protocol', 'common', 'security'],
  source: ['protocol', 'common', 'source'],
  storage: ['protocol', 'common', 'storage'],
  daemon: ['protocol', 'common', 'security', 'source', 'storage', 'daemon'],
  scheduler: ['protocol', 'common', 'security', 'source', 'storage', 'scheduler'],
  manager: ['protocol', 'common', 'security', 'source', 'storage', 'manager'],
  cli: ['protocol', 'common', 'security', 'source', 'storage', 'daemon', 'scheduler', 'manager', 'cli'],
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

describe('architecture', { timeout: 30_000 }, () => {
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
