/**
 * The data-path bench's scenarios: one download of one file on 127.0.0.1, each way. Every
 * scenario starts its own fresh processes, waits until they run (and, where there is a tracker or
 * a scheduler, until they have announced), then opens a measured window around the one client
 * download, closes it when the client exits, and checks the downloaded file's sha256.
 */
import { mkdir, rm } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { sha256File } from '../../test/support/files.js'
import type { Content } from '../../test/support/origin-server.js'
import { cliPath, issueTestIdentity } from '../../test/support/processes.js'
import { completedAtMs, leechedPath, startSwarm, type LoopbackTorrent } from './bittorrent-loopback.js'
import type { ChildProcesses } from './child-processes.js'
import { startDaemon, startLoopbackCluster, startScheduler, trafficOf, waitForAnnouncedHosts, type ClusterDaemon } from './loopback-cluster.js'
import { startOrigin } from './loopback-origin.js'
import { runMeasured, UsageWindow, type ProcessUsage, type RunningProcess } from './process-usage.js'
import { MemoryWatch, type MemoryBreakdown } from './memory-watch.js'
import { warmMemory } from './warm-memory.js'

export const SCENARIO_NAMES = ['curl', 'aria2', 'dfget-source', 'p2p-tls', 'p2p-plain'] as const
export type ScenarioName = (typeof SCENARIO_NAMES)[number]

/**
 * How long past its own deadline a client may run before it is killed. Each client is given the
 * download deadline itself (dfget --timeout, curl --max-time, aria2c --stop), because the kill
 * reaches GNU time, which measures it, and not the client.
 */
export const CLIENT_DEADLINE_GRACE_MS = 30_000

/** The processes' names in reports; the report finds the ones its ratios need by these. */
export const ROLES = {
  origin: 'origin',
  curl: 'curl',
  tracker: 'opentracker',
  seeder: 'aria2c seeder',
  leecher: 'aria2c leecher',
  scheduler: 'scheduler',
  daemon: 'daemon',
  parent: 'parent (seed) daemon',
  child: 'child daemon',
  dfget: 'dfget',
} as const

/** One scenario's measured window. */
export interface ScenarioSample {
  readonly scenario: ScenarioName
  /**
   * From the client's spawn until it had the whole file: its exit, or for aria2c its completion
   * hook (it then still announces its leaving to the tracker, on its next one-second tick).
   */
  readonly elapsedMs: number
  /** From the client's spawn until it exited. */
  readonly exitMs: number
  /** Every process of the scenario, the client last. */
  readonly usages: readonly ProcessUsage[]
  /** The window's wall time: from before the client's spawn until after its exit. */
  readonly windowMs: number
  /** CPU time the whole machine spent busy during the window, whoever used it. */
  readonly machineBusyMs: number | undefined
  /** CPU time of this bench process during the window. */
  readonly benchCpuMs: number
}

/** What every scenario of a run shares. */
export interface DataPathContext {
  readonly children: ChildProcesses
  /** Where each scenario makes its directory; on tmpfs. */
  readonly workDir: string
  /** The file, in the directory the origin serves, under its own name. */
  readonly content: Content
  /** Made only when the aria2 scenario runs. */
  readonly torrent: LoopbackTorrent | undefined
  readonly downloadTimeoutMs: number
}

/** Throws unless the file at `path` has the content's sha256. */
export async function verify(path: string, content: Content, what: string): Promise<void> {
  const digest = await sha256File(path)
  if (digest !== content.sha256) throw new Error(`${what} wrote ${path} with sha256 ${digest}, expected ${content.sha256}`)
}

function deadlineSeconds(timeoutMs: number): string {
  return String(Math.ceil(timeoutMs / 1000))
}

/** dfget's arguments for one download through `daemon` within `timeoutMs`, with a fixed piece length if given. */
export function dfgetArgs(url: string, output: string, daemon: ClusterDaemon, init: { timeoutMs: number; pieceLengthBytes?: number | undefined }): string[] {
  const pieceLength = init.pieceLengthBytes === undefined ? [] : ['--piece-length', String(init.pieceLengthBytes)]
  return [cliPath('dfget'), url, '-O', output, '-e', daemon.socketPath, '--no-progress', '--timeout', `${deadlineSeconds(init.timeoutMs)}s`, ...pieceLength]
}

/** Runs the measured client inside a window over `running`, then checks its output. */
async function measureWindow(
  context: DataPathContext,
  scenario: ScenarioName,
  running: readonly RunningProcess[],
  client: { role: string; command: string; args: readonly string[]; output: string; dir: string; doneAtMs?: () => Promise<number> },
): Promise<ScenarioSample> {
  await warmMemory(context.content.length, context.workDir)
  const window = await UsageWindow.open(running)
  const spawnedAtMs = Date.now()
  const { exit, usage } = await runMeasured(context.children, {
    role: client.role, command: client.command, args: client.args, usagePath: join(client.dir, 'client.usage'), timeoutMs: context.downloadTimeoutMs + CLIENT_DEADLINE_GRACE_MS,
  })
  const closed = await window.close()
  const elapsedMs = client.doneAtMs === undefined ? exit.elapsedMs : (await client.doneAtMs()) - spawnedAtMs
  await verify(client.output, context.content, client.role)
  return { scenario, elapsedMs, exitMs: exit.elapsedMs, usages: [...closed.usages, usage], windowMs: closed.windowMs, machineBusyMs: closed.machineBusyMs, benchCpuMs: closed.benchCpuMs }
}

async function curlScenario(context: DataPathContext, dir: string): Promise<ScenarioSample> {
  const origin = await startOrigin(context.children, dirname(context.content.file), dir)
  const output = join(dir, 'curl.out')
  return measureWindow(context, 'curl', [{ role: ROLES.origin, pid: origin.child.pid }], {
    role: ROLES.curl, command: 'curl', args: ['-sS', '--fail', '--max-time', deadlineSeconds(context.downloadTimeoutMs), '-o', output, origin.url(basename(context.content.file))], output, dir,
  })
}

async function aria2Scenario(context: DataPathContext, dir: string): Promise<ScenarioSample> {
  const torrent = context.torrent
  if (torrent === undefined) throw new Error('the aria2 scenario needs the run\'s .torrent')
  const swarm = await startSwarm(context.children, torrent, dir)
  const leecherDir = join(dir, 'leecher')
  await mkdir(leecherDir)
  const output = leechedPath(torrent, leecherDir)
  return measureWindow(context, 'aria2', [{ role: ROLES.tracker, pid: swarm.tracker.pid }, { role: ROLES.seeder, pid: swarm.seeder.pid }], {
    role: ROLES.leecher, command: 'aria2c', args: [...swarm.leecherArgs, `--stop=${deadlineSeconds(context.downloadTimeoutMs)}`, '-d', leecherDir, torrent.torrentPath], output, dir, doneAtMs: () => completedAtMs(output),
  })
}

/** A scheduler and one daemon, no seed: the scheduler can only send the daemon to the origin. */
async function dfgetSourceScenario(context: DataPathContext, dir: string): Promise<ScenarioSample> {
  const origin = await startOrigin(context.children, dirname(context.content.file), dir)
  const pkiDir = join(dir, 'pki')
  const scheduler = await startScheduler(context.children, join(dir, 'scheduler'), ['--pki-dir', pkiDir])
  const daemonDir = join(dir, 'daemon')
  const identity = await issueTestIdentity({ pkiDir }, daemonDir, 'normal')
  const daemon = await startDaemon(context.children, daemonDir, scheduler.address, false, identity, {})
  await waitForAnnouncedHosts(scheduler, 1)
  const output = join(dir, 'dfget.out')
  const running = [{ role: ROLES.origin, pid: origin.child.pid }, { role: ROLES.scheduler, pid: scheduler.child.pid }, { role: ROLES.daemon, pid: daemon.child.pid }]
  const sample = await measureWindow(context, 'dfget-source', running, {
    role: ROLES.dfget, command: process.execPath, args: dfgetArgs(origin.url(basename(context.content.file)), output, daemon, { timeoutMs: context.downloadTimeoutMs }), output, dir,
  })
  const traffic = await trafficOf(daemon)
  if (traffic.fromSourceBytes !== context.content.length) throw new Error(`the daemon fetched ${traffic.fromSourceBytes} bytes from the origin, not the ${context.content.length} of the file`)
  return sample
}

/**
 * Fresh scheduler, seed and child, with the seed warmed by a dfget of its own; with
 * `watchSeedMemory`, where the seed's memory went while it fetched the file from the origin.
 */
export async function startWarmPair(
  children: ChildProcesses,
  dir: string,
  init: { content: Content; daemonEnv: Readonly<Record<string, string>>; pieceLengthBytes?: number; downloadTimeoutMs: number; watchSeedMemory?: boolean },
): Promise<{ url: string; running: RunningProcess[]; seed: ClusterDaemon; child: ClusterDaemon; seedWarming: MemoryBreakdown | undefined }> {
  const origin = await startOrigin(children, dirname(init.content.file), dir)
  const cluster = await startLoopbackCluster(children, dir, 1, { daemonEnv: init.daemonEnv })
  const child = cluster.daemons[0]!
  const url = origin.url(basename(init.content.file))
  const warm = join(dir, 'warm.out')
  const watch = init.watchSeedMemory === true ? MemoryWatch.start(cluster.seed) : undefined
  const exit = await children.run(process.execPath, dfgetArgs(url, warm, cluster.seed, { timeoutMs: init.downloadTimeoutMs, pieceLengthBytes: init.pieceLengthBytes }), { timeoutMs: init.downloadTimeoutMs + CLIENT_DEADLINE_GRACE_MS })
  const seedWarming = await watch?.stop()
  if (exit.code !== 0) throw new Error(`the warming dfget through the seed exited with ${exit.code ?? exit.signal ?? 'nothing'}: ${exit.stderr.slice(-1500)}`)
  await verify(warm, init.content, 'the warming dfget')
  // Only a link to the seed's stored copy: removing it frees nothing, but keeps the dir tidy.
  await rm(warm)
  const running = [
    { role: ROLES.origin, pid: origin.child.pid },
    { role: ROLES.scheduler, pid: cluster.scheduler.child.pid },
    { role: ROLES.parent, pid: cluster.seed.child.pid },
    { role: ROLES.child, pid: child.child.pid },
  ]
  return { url, running, seed: cluster.seed, child, seedWarming }
}

/** Throws unless the child got every byte from its parent and none from the origin. */
export async function requireFromParent(seed: ClusterDaemon, child: ClusterDaemon, lengthBytes: number): Promise<void> {
  const [seedTraffic, childTraffic] = [await trafficOf(seed), await trafficOf(child)]
  if (childTraffic.fromPeersBytes !== lengthBytes || childTraffic.fromSourceBytes !== 0 || seedTraffic.uploadedBytes < lengthBytes) {
    throw new Error(`the child did not get the file from the seed alone: child got ${childTraffic.fromPeersBytes} bytes from peers and ${childTraffic.fromSourceBytes} from the origin, the seed uploaded ${seedTraffic.uploadedBytes}, of ${lengthBytes}`)
  }
}

async function p2pScenario(context: DataPathContext, dir: string, tls: boolean): Promise<ScenarioSample> {
  const pair = await startWarmPair(context.children, dir, {
    content: context.content,
    daemonEnv: tls ? {} : { DFDAEMON_UPLOAD_SERVER_TLS: 'false' },
    downloadTimeoutMs: context.downloadTimeoutMs,
  })
  const output = join(dir, 'dfget.out')
  const sample = await measureWindow(context, tls ? 'p2p-tls' : 'p2p-plain', pair.running, {
    role: ROLES.dfget, command: process.execPath, args: dfgetArgs(pair.url, output, pair.child, { timeoutMs: context.downloadTimeoutMs }), output, dir,
  })
  await requireFromParent(pair.seed, pair.child, context.content.length)
  return sample
}

const RUNNERS: Record<ScenarioName, (context: DataPathContext, dir: string) => Promise<ScenarioSample>> = {
  'curl': curlScenario,
  'aria2': aria2Scenario,
  'dfget-source': dfgetSourceScenario,
  'p2p-tls': (context, dir) => p2pScenario(context, dir, true),
  'p2p-plain': (context, dir) => p2pScenario(context, dir, false),
}

/**
 * Runs one scenario in a fresh directory under the context's work dir; stops every process it
 * started and removes the directory (unless DAMSELFLY_KEEP_TEST_DIRS=1), whether it succeeds or not.
 */
export async function runScenario(context: DataPathContext, scenario: ScenarioName, round: number): Promise<ScenarioSample> {
  const dir = join(context.workDir, `${scenario}-${round}`)
  await mkdir(dir, { recursive: true })
  try {
    return await RUNNERS[scenario](context, dir)
  } finally {
    await context.children.stopAll()
    if (process.env['DAMSELFLY_KEEP_TEST_DIRS'] !== '1') await rm(dir, { recursive: true, force: true })
  }
}
