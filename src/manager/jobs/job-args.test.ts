import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { describe, it } from 'node:test'
import { distributionArgs, parseJobArgs, preheatArgs } from './job-args.js'

const TEST = { timeout: 10_000 }
const MANIFEST = 'https://registry.example/v2/library/alpine/manifests/3.19'
const FILE = 'https://files.example/release.tar'

function messagesOf(result: { success: boolean; error?: { issues: ReadonlyArray<{ path: readonly PropertyKey[]; message: string }> } }): string[] {
  return result.success ? [] : (result.error?.issues ?? []).map((issue) => `${issue.path.join('.')}: ${issue.message}`)
}

describe('preheatArgs', TEST, () => {
  const cases: ReadonlyArray<readonly [string, unknown, RegExp | undefined]> = [
    ['Harbor\'s body, "" and 0 as defaults', { type: 'image', url: MANIFEST, scope: '', count: 0, percentage: 0, filtered_query_params: '' }, undefined],
    ['every scope option', { type: 'file', url: FILE, scope: 'all_peers', ips: ['10.0.0.1', 'host-a'], percentage: 50 }, undefined],
    ['an image without its manifest URL', { type: 'image', urls: [FILE] }, /^: an image job needs args\.url/],
    ['a file without a URL', { type: 'file' }, /^: a file job needs args\.url or args\.urls/],
    ['count and percentage', { type: 'file', url: FILE, count: 2, percentage: 50 }, /^: give count or percentage, not both/],
    ['an unknown scope', { type: 'file', url: FILE, scope: 'everyone' }, /^scope: /],
    ['a bad IP entry', { type: 'file', url: FILE, ips: ['-x'] }, /^ips\.0: must be an IP address or a hostname/],
  ]
  for (const [name, input, problem] of cases) {
    it(problem === undefined ? `takes ${name}` : `refuses ${name}`, TEST, () => {
      const messages = messagesOf(preheatArgs.safeParse(input))
      if (problem === undefined) assert.deepEqual(messages, [])
      else assert.match(messages.join('; '), problem)
    })
  }
})

describe('distributionArgs', TEST, () => {
  const cases: ReadonlyArray<readonly [string, unknown, RegExp | undefined]> = [
    ['a file to a path at 50MiB/s', { type: 'file', url: FILE, output_path: 'release.tar', rate_limit: '50MiB', hosts: ['10.0.0.1'] }, undefined],
    ['one URL given twice for a path', { type: 'file', url: FILE, urls: [FILE], output_path: 'release.tar' }, undefined],
    ['an image written to a path', { type: 'image', url: MANIFEST, output_path: 'x' }, /^output_path: only a file is written to a path/],
    ['two URLs written to one path', { type: 'file', urls: [FILE, `${FILE}.sig`], output_path: 'x' }, /^output_path: a path takes exactly one URL/],
    ['a rate that is no size', { type: 'file', url: FILE, rate_limit: 'fast' }, /^rate_limit: must be bytes per second/],
  ]
  for (const [name, input, problem] of cases) {
    it(problem === undefined ? `takes ${name}` : `refuses ${name}`, TEST, () => {
      const messages = messagesOf(distributionArgs.safeParse(input))
      if (problem === undefined) assert.deepEqual(messages, [])
      else assert.match(messages.join('; '), problem)
    })
  }

  it('reads a bandwidth limit as bytes per second', TEST, () => {
    assert.equal(distributionArgs.parse({ type: 'file', url: FILE, rate_limit: '50MiB' }).rate_limit, 50 * 1024 * 1024)
  })
})

describe('parseJobArgs', TEST, () => {
  it('stores the URLs once each and seals the credentials apart', TEST, () => {
    const parsed = parseJobArgs('distribution', { type: 'file', url: FILE, urls: [FILE], username: 'u', password: 'p', headers: { 'X-A': 'b' } })
    assert.deepEqual(parsed.args, { type: 'file', urls: [FILE] })
    assert.deepEqual(parsed.credentials, { headers: { 'X-A': 'b' }, username: 'u', password: 'p' })
  })
})

describe('job-args.ts in the browser', TEST, () => {
  // The console bundles this module for its forms: nothing it loads at run time may need Node.
  it('loads only zod and pure modules', TEST, () => {
    const seen = new Set<string>()
    const visit = (url: URL): void => {
      if (seen.has(url.href)) return
      seen.add(url.href)
      const source = readFileSync(url, 'utf8')
      for (const match of source.matchAll(/^import\s+(?!type\s)[^'"]*?from\s+'([^']+)'/gm)) {
        const specifier = match[1] ?? ''
        if (specifier.startsWith('.')) visit(new URL(specifier.replace(/\.js$/, '.ts'), url))
        else assert.equal(specifier, 'zod', `${url.pathname} imports ${specifier}`)
      }
    }
    visit(new URL('./job-args.ts', import.meta.url))
    assert.ok(seen.size >= 3, 'follows units.ts and piece.ts')
  })
})
