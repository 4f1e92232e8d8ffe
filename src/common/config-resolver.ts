import { readFileSync } from 'node:fs'
import { parse as parseYaml } from 'yaml'
import type { z } from 'zod'
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
 * with its key path, in one CONFIG_INVALID error.
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
  if (!result.success) {
    const problems = result.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`)
    throw new DamselflyError('CONFIG_INVALID', `invalid configuration: ${problems.join('; ')}`)
  }
  return deepFreeze(result.data)
}
