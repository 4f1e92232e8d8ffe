import type { ChildProcess } from 'node:child_process'
import { mkdir, readFile } from 'node:fs/promises'
import { basename, join } from 'node:path'
import { DAEMON_NODE_OPTIONS } from '../../src/daemon/node-options.js'
import { cliPath, issueTestIdentity, metricValue, socketGet, waitFor } from '../../test/support/processes.js'
import type { ChildProcesses } from './child-processes.js'
import { cpuTimeMs } from './process-cpu.js'
import { cpuProfileArgs } from './cpu-profile-args.js'

const STARTUP_TIMEOUT_MS = 60_000


const SAMPLES = {
  fromPeersBytes: 'damselfly_dfdaemon_download_traffic_bytes_total{type="remote_peer"}',
  fromLocalBytes: 'damselfly_dfdaemon_download_traffic_bytes_total{type="local_peer"}',
  fromSourceBytes: 'damselfly_dfdaemon_download_traffic_bytes_total{type="back_to_source"}',
  uploadedBytes: 'damselfly_dfdaemon_upload_traffic_bytes_total',
} as const

/** One daemon's traffic counters, read from its `/metrics`. */
export type DaemonTraffic = Record<keyof typeof SAMPLES, number>

export interface ClusterDaemon {
  readonly child: ChildProcess
  readonly socketPath: string
  readonly logPath: string
  /** `host:port` of the upload server. */
  readonly uploadAddress: string
  /** `host:port` of `/metrics`. */
  readonly metricsAddress: string
  /** `127.0.0.1:<port>` of the registry mirror. */
  readonly proxyAddress: string
}

/** A running `damselfly scheduler`: its process, its gRPC `host:port` and its log. */
export interface ClusterScheduler {
  readonly child: ChildProcess
  readonly address: string
  readonly logPath: string
}

/** A scheduler, a seed daemon and `count` daemons on 127.0.0.1, each with its own data dir under `dir`. */
export interface LoopbackCluster {
  readonly scheduler: ClusterScheduler
  readonly seed: ClusterDaemon
  readonly daemons: readonly ClusterDaemon[]
  /** CPU time of the scheduler, the seed and every daemon so far; undefined if any is unknown. */
  cpuTimeMs(): Promise<number | undefined>
}

async function lastLogged<T>(logPath: string, message: string): Promise<T | undefined> {
  const lines = (await readFile(logPath, 'utf8').catch(() => '')).split('\n').reverse()
  const line = lines.find((text) => text.includes(`"msg":"${message}"`))
  return line === undefined ? undefined : (JSON.parse(line) as T)
}

/** How many times the process logged `message` (a JSON log line's `msg`). */
async function countLogged(logPath: string, message: string): Promise<number> {
  const text = await readFile(logPath, 'utf8').catch(() => '')
  return text.split('\n').filter((line) => line.includes(`"msg":"${message}"`)).length
}

async function failIfExited(child: ChildProcess, name: string, logPath: string): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) return
  const tail = (await readFile(logPath, 'utf8').catch(() => '')).slice(-2000)
  throw new Error(`${name} exited with ${child.exitCode ?? child.signalCode}: ${tail}`)
}

/**
 * Starts `damselfly scheduler` on 127.0.0.1 port 0 with its data in `dir` and `trust` flags
 * (`--pki-dir <dir>` or `--insecure`); resolves once it listens, throws if it exits first.
 */
export async function startScheduler(children: ChildProcesses, dir: string, trust: string[]): Promise<ClusterScheduler> {
  await mkdir(dir, { recursive: true })
  const logPath = join(dir, 'scheduler.log')
  const child = children.start(
    process.execPath,
    [...cpuProfileArgs('scheduler'), cliPath('damselfly'), 'scheduler', '--listen-ip', '127.0.0.1', '--port', '0', '--metrics-port', '0', ...trust],
    { logPath, env: process.env },
  )
  let address: string | undefined
  await waitFor(async () => {
    await failIfExited(child, 'scheduler', logPath)
    address = (await lastLogged<{ address: string }>(logPath, 'scheduler listening'))?.address
    return address !== undefined
  }, 'the scheduler to listen', STARTUP_TIMEOUT_MS)
  return { child, address: address!, logPath }
}

/**
 * Starts a dfdaemon (a seed with `seed`) on 127.0.0.1 with every port 0 and its data in `dir`;
 * resolves once it has logged its addresses and answers `/healthy`, throws if it exits first.
 */
export async function startDaemon(children: ChildProcesses, dir: string, schedulerAddress: string, seed: boolean, args: string[], env: Readonly<Record<string, string>>): Promise<ClusterDaemon> {
  await mkdir(dir, { recursive: true })
  const socketPath = join(dir, 'dfdaemon.sock')
  const logPath = join(dir, 'dfdaemon.log')
  const child = children.start(
    process.execPath,
    [
      ...cpuProfileArgs(basename(dir)), ...DAEMON_NODE_OPTIONS, cliPath('dfdaemon'), '--data-dir', join(dir, 'data'), '--socket', socketPath, '--upload-port', '0', '--proxy-port', '0', '--metrics-port', '0',
      '--scheduler', schedulerAddress, ...(seed ? ['--seed'] : []), ...args,
    ],
    {
      logPath,
      env: {
        ...process.env,
        DFDAEMON_UPLOAD_SERVER_IP: '127.0.0.1',
        DFDAEMON_PROXY_SERVER_IP: '127.0.0.1',
        // The origin and the registry run on 127.0.0.1, which a seed refuses by default for seed tasks.
        ...(seed ? { DFDAEMON_SEED_PEER_SOURCE_POLICY_ALLOW: '127.0.0.1/32' } : {}),
        ...env,
      },
    },
  )
  let uploadAddress: string | undefined
  let proxyAddress: string | undefined
  let metricsAddress: string | undefined
  await waitFor(async () => {
    await failIfExited(child, 'dfdaemon', logPath)
    uploadAddress ??= (await lastLogged<{ address: string }>(logPath, 'upload server listening'))?.address
    proxyAddress ??= (await lastLogged<{ address: string }>(logPath, 'proxy listening'))?.address
    metricsAddress ??= (await lastLogged<{ address: string }>(logPath, 'metrics server listening'))?.address
    return uploadAddress !== undefined && proxyAddress !== undefined && metricsAddress !== undefined && (await socketGet(socketPath, '/healthy').then((answer) => answer.status === 200, () => false))
  }, `dfdaemon in ${dir} to answer /healthy`, STARTUP_TIMEOUT_MS)
  return { child, socketPath, logPath, uploadAddress: uploadAddress!, proxyAddress: proxyAddress!, metricsAddress: metricsAddress! }
}

/**
 * Starts the scheduler, then the seed and the daemons together, and returns once the scheduler
 * has logged an announcement from every one of them, so the first dfget finds a full cluster.
 * Each daemon gets an identity from the scheduler's CA, unless the cluster runs `insecure`.
 */
export async function startLoopbackCluster(
  children: ChildProcesses,
  dir: string,
  count: number,
  options: { daemonArgs?: readonly string[]; insecure?: boolean; daemonEnv?: Readonly<Record<string, string>> } = {},
): Promise<LoopbackCluster> {
  const pkiDir = join(dir, 'pki')
  const insecure = options.insecure === true
  const scheduler = await startScheduler(children, join(dir, 'scheduler'), insecure ? ['--insecure'] : ['--pki-dir', pkiDir])
  const daemon = async (name: string, seed: boolean): Promise<ClusterDaemon> => {
    const trust = insecure ? ['--insecure'] : await issueTestIdentity({ pkiDir }, join(dir, name), seed ? 'seed' : 'normal')
    return startDaemon(children, join(dir, name), scheduler.address, seed, [...trust, ...(options.daemonArgs ?? [])], options.daemonEnv ?? {})
  }
  const [seed, ...daemons] = await Promise.all([daemon('seed', true), ...Array.from({ length: count }, (_, i) => daemon(`daemon-${i}`, false))])
  await waitForAnnouncedHosts(scheduler, count + 1)
  const pids = [scheduler.child.pid, seed.child.pid, ...daemons.map((daemon) => daemon.child.pid)]
  return {
    scheduler,
    seed,
    daemons,
    async cpuTimeMs() {
      const times = await Promise.all(pids.map((pid) => cpuTimeMs(pid)))
      return times.some((time) => time === undefined) ? undefined : times.reduce<number>((sum, time) => sum + time!, 0)
    },
  }
}

/** Resolves once the scheduler has logged an announcement from `count` hosts. */
export async function waitForAnnouncedHosts(scheduler: ClusterScheduler, count: number): Promise<void> {
  await waitFor(
    async () => (await countLogged(scheduler.logPath, 'host announced')) >= count,
    `the scheduler to hear from ${count} hosts`,
    STARTUP_TIMEOUT_MS,
  )
}

/** The `costMs` of the last task the daemon logged as done: how long its own download took. */
export async function lastTaskCostMs(daemon: ClusterDaemon): Promise<number | undefined> {
  return (await lastLogged<{ costMs?: number }>(daemon.logPath, 'task done'))?.costMs
}

/** The daemon's traffic counters; a counter it has not created yet reads 0. */
export async function trafficOf(daemon: ClusterDaemon): Promise<DaemonTraffic> {
  const entries = await Promise.all(
    Object.entries(SAMPLES).map(async ([key, sample]) => [key, await metricValue(daemon.metricsAddress, sample)] as const),
  )
  return Object.fromEntries(entries) as DaemonTraffic
}
