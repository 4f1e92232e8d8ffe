import assert from 'node:assert/strict'
import fc from 'fast-check'
import { envName } from './config-resolver.js'

// For tests only (excluded from the build as a *-fixtures.ts file): generated config sources.

type Tree = Record<string, unknown>

function isTree(value: unknown): value is Tree {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** Every leaf's key path in a tree of defaults. */
export function leafPaths(tree: Tree, prefix: readonly string[] = []): string[][] {
  return Object.entries(tree).flatMap(([key, value]) => (isTree(value) ? leafPaths(value, [...prefix, key]) : [[...prefix, key]]))
}

export function valueAt(tree: unknown, path: readonly string[]): unknown {
  let node = tree
  for (const key of path) node = isTree(node) ? node[key] : undefined
  return node
}

function withValueAt(tree: Tree, path: readonly string[], value: unknown): Tree {
  const [key, ...rest] = path
  if (key === undefined) return tree
  const inner = tree[key]
  return { ...tree, [key]: rest.length === 0 ? value : withValueAt(isTree(inner) ? inner : {}, rest, value) }
}

/** A tree holding `value` at each path, later entries winning. */
export function treeOf(entries: ReadonlyArray<readonly [readonly string[], unknown]>): Tree {
  return entries.reduce<Tree>((tree, [path, value]) => withValueAt(tree, path, value), {})
}

/** Every object in `value`, itself included, is frozen. */
export function assertDeepFrozen(value: unknown, path = '(root)'): void {
  if (typeof value !== 'object' || value === null) return
  assert.ok(Object.isFrozen(value), `${path} is not frozen`)
  for (const [key, inner] of Object.entries(value)) assertDeepFrozen(inner, `${path}.${key}`)
}

const DURATION_UNITS = ['ms', 's', 'm', 'h', 'd'] as const
const SIZE_UNITS = ['', 'B', 'KiB', 'MB', 'Mi', 'GiB', 'TiB', 'tb'] as const

/** Durations as text: short, around the longest timer Node holds (2^31 - 1 ms, about 24.8 days), huge. */
export const durationText = fc.oneof(
  fc.tuple(fc.nat(1000), fc.constantFrom(...DURATION_UNITS)).map(([n, unit]) => `${n}${unit}`),
  fc.integer({ min: 2 ** 31 - 3, max: 2 ** 31 + 3 }).map((ms) => `${ms}ms`),
  fc.integer({ min: 20, max: 30 }).map((days) => `${days}d`),
  fc.tuple(fc.maxSafeNat(), fc.constantFrom(...DURATION_UNITS)).map(([n, unit]) => `${n}${unit}`),
  fc.constantFrom('1h30m', '0.5s', '0s', '0ms', '9'.repeat(400), ' 6h '),
)
export const sizeText = fc.tuple(fc.oneof(fc.nat(4096), fc.maxSafeNat()), fc.constantFrom(...SIZE_UNITS)).map(([n, unit]) => `${n}${unit}`)
const numberJunk = fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -0, -1, 0.5, 2 ** 53, 1e21, Number.MAX_VALUE)
const text = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary' }),
  fc.string({ unit: fc.constantFrom('a', '0', ' ', '\n', '\r\n', '\0', '\x1b', ',', ':', '/', 'é', '\u2028') }),
  fc.nat(5000).map((length) => 'y'.repeat(length)),
)
/** Whatever a YAML file or a flag parser might hand over. */
export const configJunk = fc.oneof(
  text,
  numberJunk,
  fc.boolean(),
  fc.constant(null),
  fc.anything({ maxDepth: 2, withNullPrototype: true }),
  fc.array(fc.array(fc.integer(), { maxLength: 3 }), { maxLength: 3 }),
)

/** A value for a leaf whose default is `example`: mostly of its type and plausible, sometimes not. */
function leafValue(example: unknown): fc.Arbitrary<unknown> {
  const plausible = (() => {
    if (typeof example === 'number') return fc.oneof(fc.nat(100), fc.integer({ min: -2, max: 70_000 }), fc.maxSafeNat(), fc.double(), durationText, sizeText)
    if (typeof example === 'boolean') return fc.boolean()
    if (Array.isArray(example)) {
      return isTree(example[0])
        ? fc.array(fc.record({ regex: fc.oneof(fc.constantFrom('blobs/sha256.*', '(', 'a+', '[z-a]'), fc.string()) }), { maxLength: 3 })
        : fc.array(fc.oneof(fc.domain(), fc.constantFrom('a:8002', 'b:1', 'h:99999', 'x y:1', '127.0.0.1:8002'), fc.string()), { maxLength: 3 })
    }
    if (typeof example === 'string' && /^\d+(?:ms|s|m|h|d)$/.test(example)) return fc.oneof(durationText, fc.nat(), fc.constant(''))
    if (typeof example === 'string' && /^\d+[KMGT]iB$/.test(example)) return fc.oneof(sizeText, fc.nat(), fc.constant(''))
    return fc.oneof(fc.constant(example), durationText, sizeText, fc.string(), fc.constantFrom('debug', 'silent', 'loud', '0660', '660', '0999', 'https://r.io', 'not a url', '0.0.0.0', ''))
  })()
  return fc.oneof({ arbitrary: plausible, weight: 4 }, { arbitrary: configJunk, weight: 1 })
}

/** Flags as a partial tree of the config's shape: a few leaves set, a node now and then replaced by junk. */
export function flagTree(defaults: Tree): fc.Arbitrary<Tree> {
  const paths = leafPaths(defaults)
  const leaf = fc.constantFrom(...paths).chain((path) => leafValue(valueAt(defaults, path)).map((value) => [path, value] as const))
  const node = fc.tuple(fc.constantFrom(...paths).chain((path) => fc.nat(path.length - 1).map((depth) => path.slice(0, depth + 1))), configJunk)
  const stranger = fc.tuple(fc.array(fc.string({ minLength: 1, maxLength: 8 }), { minLength: 1, maxLength: 3 }), configJunk)
  const entry = fc.oneof({ arbitrary: leaf, weight: 8 }, { arbitrary: node, weight: 1 }, { arbitrary: stranger, weight: 1 })
  return fc.array(entry, { maxLength: 3 }).map(treeOf)
}

/** Environment variables: the component's own names, names that look like them, and others. */
export function envMap(defaults: Tree, prefix: string): fc.Arbitrary<Record<string, string>> {
  const own = fc.constantFrom(...leafPaths(defaults).map((path) => envName(prefix, path)))
  const lookalike = fc.string({ unit: fc.constantFrom('A', 'Z', '_', '0'), maxLength: 12 }).map((rest) => `${prefix}_${rest}`)
  const name = fc.oneof({ arbitrary: own, weight: 6 }, { arbitrary: lookalike, weight: 1 }, { arbitrary: fc.string({ maxLength: 12 }), weight: 1 })
  const value = fc.oneof(
    durationText,
    sizeText,
    fc.nat(70_000).map(String),
    fc.constantFrom('', ' ', 'true', 'false', 'TRUE', '1e309', 'NaN', 'Infinity', '-0', '0x10', '1_000', 'a,b', 'a:8002, b:8002', ',,', 'debug', '0660'),
    text,
  )
  return fc.dictionary(name, value, { maxKeys: 3 })
}

/** Every section (object) of a tree of defaults, the root included, as a key path. */
export function sectionPaths(tree: Tree, prefix: readonly string[] = []): string[][] {
  return [[...prefix], ...Object.entries(tree).flatMap(([key, value]) => (isTree(value) ? sectionPaths(value, [...prefix, key]) : []))]
}

/**
 * Keys no section of `defaults` holds, each placed in some section with a value (undefined
 * means "not set" to the resolver): the full path of each, and a tree holding them all.
 */
export function unknownKeyTree(defaults: Tree): fc.Arbitrary<{ paths: string[][]; tree: Tree }> {
  const placed = fc.tuple(fc.constantFrom(...sectionPaths(defaults)), fc.stringMatching(/^[a-z][a-zA-Z0-9]{0,10}$/), configJunk.filter((value) => value !== undefined))
    .filter(([section, key]) => {
      const node = valueAt(defaults, section)
      return isTree(node) && !Object.hasOwn(node, key)
    })
  return fc.uniqueArray(placed, { minLength: 1, maxLength: 4, selector: ([section, key]) => [...section, key].join('.') })
    .map((entries) => ({ paths: entries.map(([section, key]) => [...section, key]), tree: treeOf(entries.map(([section, key, value]) => [[...section, key], value])) }))
}
