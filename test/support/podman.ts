import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { run, type RunResult } from './processes.js'
import { requireCommand } from './require-command.js'

/** A podman image store of its own (vfs, root and runroot under one dir); podman has no daemon to stop. */
export interface PodmanStore {
  readonly dir: string
  /**
   * `podman pull ref` with `CONTAINERS_REGISTRIES_CONF=registriesConf` (podman honours it; skopeo
   * 1.9 does not). Resolves with the exit code and output, never rejects on a failed pull.
   */
  pull(ref: string, registriesConf: string): Promise<RunResult>
  /** The full image ID (the config digest's hex) this store holds for `ref`; throws when it holds none. */
  imageId(ref: string): Promise<string>
}

const PULL_TIMEOUT_MS = 120_000
const PODMAN_TIMEOUT_MS = 30_000

/** A podman store under `dir`; nothing under /var/lib/containers, /run or /var/tmp is touched. */
export function podmanStore(dir: string): PodmanStore {
  requireCommand('podman', 'podman')
  const tmp = join(dir, 'tmp')
  mkdirSync(tmp, { recursive: true })
  // An empty auth file, so whatever root has in ~/.docker or /run/containers is not sent.
  const authFile = join(dir, 'auth.json')
  writeFileSync(authFile, '{}\n')
  const global = [
    '--root', join(dir, 'root'), '--runroot', join(dir, 'run'), '--tmpdir', join(dir, 'libpod-tmp'),
    '--storage-driver', 'vfs', '--events-backend', 'none', '--cgroup-manager', 'cgroupfs',
  ]
  const env = { TMPDIR: tmp, REGISTRY_AUTH_FILE: authFile }
  const podman = (args: readonly string[], extraEnv: Record<string, string> = {}, timeoutMs = PODMAN_TIMEOUT_MS): Promise<RunResult> =>
    run('podman', [...global, ...args], { env: { ...env, ...extraEnv }, timeoutMs })
  return {
    dir,
    pull: (ref, registriesConf) => podman(['pull', ref], { CONTAINERS_REGISTRIES_CONF: registriesConf }, PULL_TIMEOUT_MS),
    async imageId(ref) {
      const inspected = await podman(['image', 'inspect', '--format', '{{.Id}}', ref])
      if (inspected.code !== 0) throw new Error(`podman image inspect ${ref} failed (${inspected.code}): ${inspected.stderr}`)
      return inspected.stdout.trim()
    },
  }
}
