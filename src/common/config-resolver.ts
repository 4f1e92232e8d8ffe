import { readFileSync } from 'node:fs'
import { parse as parseYaml } from 'yaml'
import { z } from 'zod'
import { DamselflyError } from '../protocol/damselfly-error.js'

type Tree = Record<string, unknown>

export interface ConfigSources {
  /** Path of a YAML file; a missing file named here is an error. */
  readonly file?: string | undefined
  /** Usually process.env; only keys starting with the component's prefix are read. */
  readonly env?: Readonly<Record<string, string | undefined>>
  /** Values from command-line flags, as a partial tree of the config's shape. */
  readonly flags?: Tree
}

function isTree(value: unknown): value is Tree {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function merge(base: Tree, over: Tree): Tree {
  const out: Tree = { ...base }
  for (const [key, value] of Object.entries(over)) {
    if (value === undefined) continue
    const current = out[key]
    out[key] = isTree(current) && isTree(value) ? merge(current, value) : value
  }
  return out
}

function leafPaths(tree: Tree, prefix: string[] = []): string[][] {
  return Object.entries(tree).flatMap(([key, value]) =>
    isTree(value) ? leafPaths(value, [...prefix, key]) : [[...prefix, key]],
  )
}

/** `upload.server.port` with prefix `DFDAEMON` becomes `DFDAEMON_UPLOAD_SERVER_PORT`; `taskTTL` becomes `TASK_TTL`. */
export function envName(prefix: string, path: readonly string[]): string {
  const words = path.map((key) => key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase())
  return [prefix, ...words].join('_')
}

function envValue(raw: string, example: unknown): unknown {
  // Text that is not a plain number ('100MiB', '30s') is left for the schema to parse.
  if (typeof example === 'number') return raw.trim() !== '' && Number.isFinite(Number(raw)) ? Number(raw) : raw
  if (typeof example === 'boolean') return raw === 'true' ? true : raw === 'false' ? false : raw
  if (Array.isArray(example)) return raw.split(',').map((item) => item.trim()).filter((item) => item !== '')
  return raw
}

function setPath(tree: Tree, path: readonly string[], value: unknown): void {
  let node = tree
  for (const key of path.slice(0, -1)) {
    const next = node[key]
    node = isTree(next) ? next : (node[key] = {})
  }
  node[path[path.length - 1] ?? ''] = value
}

function fromEnv(defaults: Tree, prefix: string, env: Readonly<Record<string, string | undefined>>): Tree {
  const tree: Tree = {}
  for (const path of leafPaths(defaults)) {
    const raw = env[envName(prefix, path)]
    if (raw === undefined) continue
    let example: unknown = defaults
    for (const key of path) example = isTree(example) ? example[key] : undefined
    setPath(tree, path, envValue(raw, example))
  }
  return tree
}

/**
 * Kubernetes gives every pod `<SERVICE>_SERVICE_HOST`, `<SERVICE>_PORT_8002_TCP` and the like for
 * each service of its namespace: a service named `scheduler` or `dfdaemon` must not look like a
 * misspelt key.
 */
const SERVICE_LINK = /_(?:SERVICE_HOST|SERVICE_PORT(?:_[A-Z0-9_]+)?|PORT_\d+_(?:TCP|UDP|SCTP)(?:_(?:PROTO|PORT|ADDR))?)$/

function isServiceLink(name: string, value: string | undefined): boolean {
  // `<SERVICE>_PORT` holds a URL such as tcp://10.0.0.1:8002; `DFDAEMON_UPLOAD_PORT=65002` is a typo.
  return SERVICE_LINK.test(name) || (name.endsWith('_PORT') && /^(?:tcp|udp|sctp):\/\//.test(value ?? ''))
}

/**
 * Variables behind the component's prefix that name no key (`DFDAEMON_UPLOAD_RATELIMIT` for
 * `DFDAEMON_UPLOAD_RATE_LIMIT`), for a warning at start. Not an error: the environment is shared
 * with everything else in it (Kubernetes service links, wrappers), unlike a config file.
 */
export function unknownEnvNames(defaults: Tree, prefix: string, env: Readonly<Record<string, string | undefined>>): string[] {
  const known = new Set(leafPaths(defaults).map((path) => envName(prefix, path)))
  return Object.entries(env)
    .filter(([name, value]) => name.startsWith(`${prefix}_`) && !known.has(name) && !isServiceLink(name, value))
    .map(([name]) => name)
    .sort()
}

function fromFile(path: string): Tree {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (cause) {
    throw new DamselflyError('CONFIG_INVALID', `cannot read config file ${path}: ${(cause as Error).message}`, { cause })
  }
  let parsed: unknown
  try {
    parsed = parseYaml(text)
  } catch (cause) {
    throw new DamselflyError('CONFIG_INVALID', `config file ${path} is not valid YAML: ${(cause as Error).message.split('\n')[0] ?? ''}`, { cause })
  }
  if (parsed === null || parsed === undefined) return {}
  if (!isTree(parsed)) throw new DamselflyError('CONFIG_INVALID', `config file ${path} must hold a mapping at the top level`)
  return parsed
}

/** A key path as a message shows it: plain keys joined with dots, any other key quoted. */
function formatPath(path: readonly string[]): string {
  return path.map((key) => (/^[\w-]+$/.test(key) ? key : JSON.stringify(key))).join('.')
}

/** Edits (insert, delete, replace, swap of neighbours) between two short keys, for a "did you mean" hint. */
function distance(a: string, b: string): number {
  const rows = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)))
  const at = (i: number, j: number): number => rows[i]?.[j] ?? 0
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      let best = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + (a[i - 1] === b[j - 1] ? 0 : 1))
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, at(i - 2, j - 2) + 1)
      const row = rows[i]
      if (row !== undefined) row[j] = best
    }
  }
  return at(a.length, b.length)
}

function unknownKeyProblem(path: readonly string[], known: readonly string[]): string {
  const key = path[path.length - 1] ?? ''
  const near = known
    .map((candidate) => ({ candidate, far: candidate.toLowerCase() === key.toLowerCase() ? 0 : distance(key, candidate) }))
    .filter(({ far }) => far <= Math.max(1, Math.floor(key.length / 3)))
    .sort((x, y) => x.far - y.far)[0]
  return `${formatPath(path)}: unknown key${near === undefined ? '' : ` (did you mean ${near.candidate}?)`}`
}

/**
 * Keys of `value` the schema has no place for, each as a problem naming its path. Walks the
 * schema and the value together: an object schema that strips unknown keys (zod's default)
 * reports them here instead; a free map (`z.record`, a loose object) takes any key.
 */
function unknownKeys(schema: z.ZodType, value: unknown, path: readonly string[] = []): string[] {
  if (schema instanceof z.ZodPipe) return unknownKeys(schema.in as z.ZodType, value, path)
  if (schema instanceof z.ZodOptional || schema instanceof z.ZodNullable || schema instanceof z.ZodDefault) return unknownKeys(schema.unwrap() as z.ZodType, value, path)
  if (schema instanceof z.ZodArray) {
    return Array.isArray(value) ? value.flatMap((item, index) => unknownKeys(schema.element as z.ZodType, item, [...path, String(index)])) : []
  }
  if (schema instanceof z.ZodRecord) {
    return isTree(value) ? Object.entries(value).flatMap(([key, inner]) => unknownKeys(schema.valueType as z.ZodType, inner, [...path, key])) : []
  }
  if (!(schema instanceof z.ZodObject) || !isTree(value)) return []
  const shape = schema.shape as Record<string, z.ZodType>
  const known = Object.keys(shape)
  // A catchall (loose, strict or typed) makes zod itself decide about other keys.
  const free = schema.def.catchall !== undefined
  return Object.entries(value).flatMap(([key, inner]) => {
    const field = Object.hasOwn(shape, key) ? shape[key] : undefined
    if (field !== undefined) return unknownKeys(field, inner, [...path, key])
    return free ? [] : [unknownKeyProblem([...path, key], known)]
  })
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const inner of Object.values(value)) deepFreeze(inner)
    Object.freeze(value)
  }
  return value
}

/**
 * Resolves a component's configuration with precedence defaults < YAML file < environment <
 * flags, validates it with the schema, and freezes it. Every problem is reported at once, each
 * with its key path, in one CONFIG_INVALID error; a key the schema does not know (`storge:`) is
 * one of them, so a misspelt key never leaves its default silently in place.
 */
export function resolveConfig<S extends z.ZodType>(
  schema: S,
  defaults: Tree,
  envPrefix: string,
  sources: ConfigSources,
): z.output<S> {
  let tree = defaults
  if (sources.file !== undefined) tree = merge(tree, fromFile(sources.file))
  if (sources.env !== undefined) tree = merge(tree, fromEnv(defaults, envPrefix, sources.env))
  if (sources.flags !== undefined) tree = merge(tree, sources.flags)
  const result = schema.safeParse(tree)
  const problems = [
    ...unknownKeys(schema, tree),
    ...(result.success ? [] : result.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`)),
  ]
  if (!result.success || problems.length > 0) {
    throw new DamselflyError('CONFIG_INVALID', `invalid configuration: ${problems.join('; ')}`)
  }
  return deepFreeze(result.data)
}
