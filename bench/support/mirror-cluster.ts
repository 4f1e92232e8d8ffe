import type { ChildProcess } from 'node:child_process'
import { mkdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { cliPath, socketGet, waitFor } from '../../test/support/processes.js'
import type { ChildProcesses } from './child-processes.js'
import { cpuTimeMs } from './process-cpu.js'

const STARTUP_TIMEOUT_MS = 60_000

/** A dfdaemon whose proxy port serves the registry API as a mirror of one registry. */
export interface MirrorDaemon {
  readonly name: string
  readonly child: ChildProcess
  readonly logPath: string
  /** `127.0.0.1:<port>` of the registry mirror, as skopeo wants it. */
  readonly proxyAddress: string
  /** `127.0.0.1:<port>` of the upload server, which also serves `/metrics`. */
  readonly uploadAddress: string
}

/**
 * A scheduler, a seed daemon and one daemon per name, on 127.0.0.1 with default config, each in
 * its own data dir under the cluster's dir, every daemon mirroring the same registry.
 */
export interface MirrorCluster {
  readonly seed: MirrorDaemon
  readonly daemons: readonly MirrorDaemon[]
  /** CPU time of the scheduler, the seed and every daemon so far; undefined if any is unknown. */
  cpuTimeMs(): Promise<number | undefined>
}

async function loggedAddress(logPath: string, message: string): Promise<string | undefined> {
  const lines = (await readFile(logPath, 'utf8').catch(() => '')).split('\n').reverse()
  const line = lines.find((text) => text.includes(`"msg":"${message}"`))
  if (line === undefined) return undefined
  return (JSON.parse(line) as { address: string }).address.replace('0.0.0.0', '127.0.0.1')
}

async function countLogged(logPath: string, message: string): Promise<number> {
  const text = await readFile(logPath, 'utf8').catch(() => '')
  return text.split('\n').filter((line) => line.includes(`"msg":"${message}"`)).length
}

async function failIfExited(child: ChildProcess, name: string, logPath: string): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) return
  const tail = (await readFile(logPath, 'utf8').catch(() => '')).slice(-2000)
  throw new Error(`${name} exited with ${child.exitCode ?? child.signalCode}: ${tail}`)
}

async function startScheduler(children: ChildProcesses, dir: string): Promise<{ child: ChildProcess; address: string; logPath: string }> {
  await mkdir(dir, { recursive: true })
  const logPath = join(dir, 'scheduler.log')
  const child = children.start(
    process.execPath,
    [cliPath('damselfly'), 'scheduler', '--listen-ip', '127.0.0.1', '--port', '0', '--metrics-port', '0'],
    { logPath, env: process.env },
  )
  let address: string | undefined
  await waitFor(async () => {
    await failIfExited(child, 'scheduler', logPath)
    address = await loggedAddress(logPath, 'scheduler listening')
    return address !== undefined
  }, 'the scheduler to listen', STARTUP_TIMEOUT_MS)
  return { child, address: address!, logPath }
}

async function startDaemon(
  children: ChildProcesses,
  dir: string,
  init: { name: string; schedulerAddress: string; registryUrl: string; seed: boolean },
): Promise<MirrorDaemon> {
  await mkdir(dir, { recursive: true })
  const socketPath = join(dir, 'dfdaemon.sock')
  const logPath = join(dir, 'dfdaemon.log')
  const child = children.start(
    process.execPath,
    [
      cliPath('dfdaemon'), '--data-dir', join(dir, 'data'), '--socket', socketPath, '--upload-port', '0', '--proxy-port', '0',
      '--scheduler', init.schedulerAddress, '--registry-mirror', init.registryUrl, ...(init.seed ? ['--seed'] : []),
    ],
    { logPath, env: { ...process.env, DFDAEMON_UPLOAD_SERVER_IP: '127.0.0.1' } },
  )
  let uploadAddress: string | undefined
  let proxyAddress: string | undefined
  await waitFor(async () => {
    await failIfExited(child, `dfdaemon ${init.name}`, logPath)
    uploadAddress ??= await loggedAddress(logPath, 'upload server listening')
    proxyAddress ??= await loggedAddress(logPath, 'proxy listening')
    if (uploadAddress === undefined || proxyAddress === undefined) return false
    return socketGet(socketPath, '/healthy').then((answer) => answer.status === 200, () => false)
  }, `dfdaemon ${init.name} to answer /healthy`, STARTUP_TIMEOUT_MS)
  return { name: init.name, child, logPath, uploadAddress: uploadAddress!, proxyAddress: proxyAddress! }
}

/**
 * Starts the scheduler, then the seed and the named daemons together, and returns once the
 * scheduler has logged an announcement from every one of them.
 */
export async function startMirrorCluster(children: ChildProcesses, dir: string, registryUrl: string, names: readonly string[]): Promise<MirrorCluster> {
  const scheduler = await startScheduler(children, join(dir, 'scheduler'))
  const common = { schedulerAddress: scheduler.address, registryUrl }
  const [seed, ...daemons] = await Promise.all([
    startDaemon(children, join(dir, 'seed'), { ...common, name: 'seed', seed: true }),
    ...names.map((name) => startDaemon(children, join(dir, name), { ...common, name, seed: false })),
  ])
  await waitFor(
    async () => (await countLogged(scheduler.logPath, 'host announced')) >= names.length + 1,
    `the scheduler to hear from ${names.length + 1} hosts`,
    STARTUP_TIMEOUT_MS,
  )
  const pids = [scheduler.child.pid, seed.child.pid, ...daemons.map((daemon) => daemon.child.pid)]
  return {
    seed,
    daemons,
    async cpuTimeMs() {
      const times = await Promise.all(pids.map((pid) => cpuTimeMs(pid)))
      return times.some((time) => time === undefined) ? undefined : times.reduce<number>((total, time) => total + time!, 0)
    },
  }
}
