import { spawn, type ChildProcess } from 'node:child_process'
import { closeSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { guardChild, run, waitFor, type RunResult } from './processes.js'
import { requireCommand } from './require-command.js'

/** A private containerd daemon (its own root, state and sockets under one dir), driven with `ctr`. */
export interface ContainerdProcess {
  /** The gRPC socket, for `ctr -a`. */
  readonly socket: string
  readonly logPath: string
  readonly child: ChildProcess
  /**
   * `ctr images pull --hosts-dir <hostsDir>` of `ref`: ctr itself fetches over HTTP as
   * `<hostsDir>/<registry host>/hosts.toml` says, then the daemon stores and unpacks. Resolves with
   * the exit code and output, never rejects on a failed pull.
   */
  pull(ref: string, hostsDir: string, snapshotter?: 'native' | 'overlayfs'): Promise<RunResult>
  /** The target digest (`sha256:<hex>`) `ctr images ls` lists for `ref`; throws when it lists none. */
  imageDigest(ref: string): Promise<string>
  /** Ids of the leases containerd holds; an interrupted pull leaves one pinning its content. */
  leases(): Promise<string[]>
  /** Any other `ctr -a <socket> ...` command. */
  ctr(args: readonly string[], timeoutMs?: number): Promise<RunResult>
  /** SIGTERM by PID and wait for exit; SIGKILL after a grace period. Safe to repeat. */
  stop(): Promise<void>
}

const READY_TIMEOUT_MS = 15_000
const STOP_GRACE_MS = 5_000
const CTR_TIMEOUT_MS = 30_000
const PULL_TIMEOUT_MS = 120_000

/** containerd's config: everything under `dir`, CRI off (no kubelet here), no metrics listener. */
function configToml(dir: string, socket: string): string {
  const quoted = (path: string): string => JSON.stringify(path)
  return [
    'version = 2',
    `root = ${quoted(join(dir, 'root'))}`,
    `state = ${quoted(join(dir, 'state'))}`,
    'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
    '[grpc]',
    `  address = ${quoted(socket)}`,
    '[ttrpc]',
    `  address = ${quoted(`${socket}.ttrpc`)}`,
    '[debug]',
    '  level = "info"',
    '[metrics]',
    '  address = ""',
    // The opt plugin would otherwise create /opt/containerd.
    '[plugins."io.containerd.internal.v1.opt"]',
    `  path = ${quoted(join(dir, 'opt'))}`,
    '',
  ].join('\n')
}

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null
}

/** Starts containerd with everything under `dir` and waits until `ctr version` reaches it. */
export async function startContainerd(dir: string): Promise<ContainerdProcess> {
  requireCommand('containerd', 'containerd')
  requireCommand('ctr', 'containerd')
  mkdirSync(dir, { recursive: true })
  const socket = join(dir, 'containerd.sock')
  const configPath = join(dir, 'containerd.toml')
  const logPath = join(dir, 'containerd.log')
  writeFileSync(configPath, configToml(dir, socket))
  const log = openSync(logPath, 'a')
  const child = spawn('containerd', ['--config', configPath], { stdio: ['ignore', log, log] })
  closeSync(log)
  const { spawnError } = guardChild(child)

  const ctr = (args: readonly string[], timeoutMs = CTR_TIMEOUT_MS): Promise<RunResult> => run('ctr', ['-a', socket, ...args], { timeoutMs })
  const stop = async (): Promise<void> => {
    if (exited(child) || child.pid === undefined) return
    const gone = new Promise<void>((done) => child.once('exit', () => done()))
    child.kill('SIGTERM')
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS)
    await gone
    clearTimeout(timer)
  }

  try {
    await waitFor(async () => {
      const failed = spawnError()
      if (failed !== undefined) throw failed
      if (exited(child)) throw new Error(`containerd exited with ${child.exitCode ?? child.signalCode}`)
      return (await ctr(['version'], 5_000)).code === 0
    }, `containerd to answer on ${socket}`, READY_TIMEOUT_MS)
  } catch (err) {
    child.kill('SIGKILL')
    throw new Error(`containerd did not start: ${err instanceof Error ? err.message : String(err)}; log: ${readFileSync(logPath, 'utf8').slice(-2000)}`, { cause: err })
  }

  return {
    socket,
    logPath,
    child,
    pull: (ref, hostsDir, snapshotter = 'native') =>
      ctr(['images', 'pull', '--hosts-dir', hostsDir, '--snapshotter', snapshotter, ref], PULL_TIMEOUT_MS),
    async imageDigest(ref) {
      const listed = await ctr(['images', 'ls'])
      if (listed.code !== 0) throw new Error(`ctr images ls failed (${listed.code}): ${listed.stderr}`)
      // REF TYPE DIGEST SIZE PLATFORMS LABELS, whitespace-aligned
      const row = listed.stdout.split('\n').map((line) => line.trim().split(/\s+/)).find((columns) => columns[0] === ref)
      const digest = row?.[2]
      if (digest === undefined) throw new Error(`ctr images ls does not list ${ref}:\n${listed.stdout}`)
      return digest
    },
    async leases() {
      const listed = await ctr(['leases', 'ls', '--quiet'])
      if (listed.code !== 0) throw new Error(`ctr leases ls failed (${listed.code}): ${listed.stderr}`)
      return listed.stdout.split('\n').filter((line) => line.trim() !== '')
    },
    ctr,
    stop,
  }
}
