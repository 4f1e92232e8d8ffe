import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { DamselflyError } from '../../protocol/damselfly-error.js'
import { MARKER, undoManaged, writeManaged } from './managed-file.js'

/** Where the daemon's mirror listens, and which registry to route through it (all when undefined). */
export interface MirrorTarget {
  /** e.g. `http://127.0.0.1:65001` */
  readonly mirror: string
  /** e.g. `https://ghcr.io`; undefined routes every registry (containerd `_default`). */
  readonly registry: string | undefined
}

function registryUrl(registry: string): URL {
  try {
    return new URL(registry.includes('://') ? registry : `https://${registry}`)
  } catch (cause) {
    throw new DamselflyError('INVALID_ARGUMENT', `--registry must be a registry URL or host, got ${JSON.stringify(registry)}`, { cause })
  }
}

/** containerd: `<certs.d>/<registry host>/hosts.toml` (or `_default`), with the X-Dragonfly-Registry header. */
export function containerdHostsToml(target: MirrorTarget): { file: string; content: string } {
  const mirror = JSON.stringify(target.mirror)
  if (target.registry === undefined) {
    return {
      file: join('_default', 'hosts.toml'),
      content: `${MARKER}\n[host.${mirror}]\n  capabilities = ["pull", "resolve"]\n`,
    }
  }
  const registry = registryUrl(target.registry)
  return {
    file: join(registry.host, 'hosts.toml'),
    content: [
      MARKER,
      `server = ${JSON.stringify(registry.origin)}`,
      '',
      `[host.${mirror}]`,
      '  capabilities = ["pull", "resolve"]',
      `  [host.${mirror}.header]`,
      `    X-Dragonfly-Registry = [${JSON.stringify(registry.origin)}]`,
      '',
    ].join('\n'),
  }
}

/**
 * podman, CRI-O, skopeo: a drop-in for registries.conf naming the daemon as a mirror of the
 * registry. A plain-HTTP registry is marked insecure too, so pulls still work when the mirror is down.
 */
export function registriesConfDropIn(target: MirrorTarget): string {
  const mirror = new URL(target.mirror)
  const registry = target.registry === undefined ? new URL('https://docker.io') : registryUrl(target.registry)
  return [
    MARKER,
    '[[registry]]',
    `prefix = ${JSON.stringify(registry.host)}`,
    `location = ${JSON.stringify(registry.host)}`,
    ...(registry.protocol === 'http:' ? ['insecure = true'] : []),
    '',
    '[[registry.mirror]]',
    `location = ${JSON.stringify(mirror.host)}`,
    `insecure = ${mirror.protocol === 'http:' ? 'true' : 'false'}`,
    '',
  ].join('\n')
}

/** Docker: `registry-mirrors` in daemon.json (Docker applies it to Docker Hub only). */
export async function dockerDaemonJson(path: string, target: MirrorTarget): Promise<string> {
  let current: Record<string, unknown> = {}
  const text = await readFile(path, 'utf8').catch(() => undefined)
  if (text !== undefined && text.trim() !== '') {
    try {
      current = JSON.parse(text) as Record<string, unknown>
    } catch (cause) {
      throw new DamselflyError('INVALID_ARGUMENT', `${path} is not valid JSON; fix it first`, { cause })
    }
  }
  const mirrors = Array.isArray(current['registry-mirrors']) ? (current['registry-mirrors'] as unknown[]).map(String) : []
  if (!mirrors.includes(target.mirror)) mirrors.unshift(target.mirror)
  return `${JSON.stringify({ ...current, 'registry-mirrors': mirrors }, null, 2)}\n`
}

export const RUNTIMES = ['containerd', 'docker', 'podman'] as const
export type Runtime = (typeof RUNTIMES)[number]

export const DEFAULT_PATHS: Record<Runtime, string> = {
  containerd: '/etc/containerd/certs.d',
  docker: '/etc/docker/daemon.json',
  podman: '/etc/containers/registries.conf.d/50-damselfly.conf',
}

/** Writes (or with `undo`, reverts) one runtime's configuration; returns what was done. */
export async function applyRuntimeConfig(runtime: Runtime, path: string, target: MirrorTarget, undo: boolean): Promise<string> {
  switch (runtime) {
    case 'containerd': {
      const { file, content } = containerdHostsToml(target)
      const full = join(path, file)
      return undo ? undoManaged(full) : writeManaged(full, content)
    }
    case 'docker':
      return undo ? undoManaged(path) : writeManaged(path, await dockerDaemonJson(path, target))
    case 'podman':
      return undo ? undoManaged(path) : writeManaged(path, registriesConfDropIn(target))
  }
}
