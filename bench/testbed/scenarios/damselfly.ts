/**
 * Damselfly: the scheduler and a seed daemon in the origin's namespace (so the seed's uploads share
 * the origin's link) and one dfdaemon per host, all started fresh for the round with empty storage
 * and announced to the scheduler. Then every host's daemon is asked for the file at once through
 * its local API, the request dfget sends, as aria2's leechers are sent aria2.addTorrent. The
 * cluster CA and the identities are made before the round's clock, as at deployment.
 */
import { setMaxListeners } from 'node:events'
import type { ChildProcess } from 'node:child_process'
import { mkdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { LocalApiClient } from '../../../src/daemon/api/local-api-client.js'
import { DAEMON_NODE_OPTIONS } from '../../../src/daemon/node-options.js'
import { initClusterPki } from '../../../src/security/cluster-pki.js'
import { cliPath, issueTestIdentity, sampleIn, socketGet, waitFor } from '../../../test/support/processes.js'
import { isRunning, onEveryHost, RoundProcesses, type Delivery, type PreparedRound, type Scenario, type ScenarioContext } from '../scenario.js'
import type { Node, Testbed } from '../testbed.js'
import { cpuProfileArgs } from '../../support/cpu-profile-args.js'

const SCHEDULER_PORT = 8002
const SCHEDULER_METRICS_PORT = 8000
const UPLOAD_PORT = 65002
const PROXY_PORT = 65001
const METRICS_PORT = 4002
// The seed shares the origin namespace with the scheduler and the origin, so it needs ports of its own.
const SEED_UPLOAD_PORT = 65012
const SEED_PROXY_PORT = 65011
const SEED_METRICS_PORT = 4012
const STARTUP_TIMEOUT_MS = 120_000
const QUERY_TIMEOUT_MS = 10_000
const UPLOADED = 'damselfly_dfdaemon_upload_traffic_bytes_total'
const BACK_TO_SOURCE = 'damselfly_dfdaemon_download_traffic_bytes_total{type="back_to_source"}'

async function loggedCount(logPath: string, message: string): Promise<number> {
  const text = await readFile(logPath, 'utf8').catch(() => '')
  return text.split('\n').filter((line) => line.includes(`"msg":"${message}"`)).length
}

function exitedError(child: ChildProcess, what: string, logPath: string): Error | undefined {
  return isRunning(child) ? undefined : new Error(`${what} exited (${child.exitCode ?? child.signalCode}); see ${logPath}`)
}

/** One sample of a daemon's /metrics, read from inside its namespace; 0 when absent. */
function metricOf(testbed: Testbed, node: Node, metricsPort: number, sample: string): number {
  const text = testbed.output(node, 'curl', ['-sS', '--fail', `http://${node.ip}:${metricsPort}/metrics`], { timeoutMs: QUERY_TIMEOUT_MS })
  return sampleIn(text, sample) ?? 0
}

interface DaemonSpec {
  readonly node: Node
  readonly dir: string
  readonly socketPath: string
  readonly ports: { readonly upload: number; readonly proxy: number; readonly metrics: number }
  readonly seed: boolean
  /** Flags that point the daemon at its identity, issued before the round's clock starts. */
  readonly identityArgs: readonly string[]
}

export class DamselflyScenario implements Scenario {
  readonly name = 'damselfly'

  /** Makes the cluster CA and every daemon's identity (what `damselfly pki` and `join` do at deployment); starts nothing. */
  async prepare(context: ScenarioContext): Promise<PreparedRound> {
    const { testbed, dir } = context
    const cluster = { pkiDir: join(dir, 'pki') }
    await initClusterPki(cluster.pkiDir)
    const spec = async (node: Node, name: string, ports: DaemonSpec['ports'], seed: boolean): Promise<DaemonSpec> => {
      const daemonDir = join(dir, name)
      await mkdir(daemonDir, { recursive: true })
      const identityArgs = await issueTestIdentity(cluster, daemonDir, seed ? 'seed' : 'normal', [node.ip])
      return { node, dir: daemonDir, socketPath: join(daemonDir, 'dfdaemon.sock'), ports, seed, identityArgs }
    }
    // The seed shares the origin's namespace but fetches from its 10.77.0.2 address, not loopback,
    // so its default source policy lets seed tasks through.
    const seed = await spec(testbed.origin, 'seed', { upload: SEED_UPLOAD_PORT, proxy: SEED_PROXY_PORT, metrics: SEED_METRICS_PORT }, true)
    const hosts = await Promise.all(testbed.hosts.map((host, i) => spec(host, `h${i + 1}`, { upload: UPLOAD_PORT, proxy: PROXY_PORT, metrics: METRICS_PORT }, false)))
    const processes = new RoundProcesses(context)
    return {
      start: () => this.start(context, processes, { pkiDir: cluster.pkiDir, daemons: [seed, ...hosts] }),
      fetchAll: () => this.fetchAll(context, hosts),
      seedCounters: () => ({
        seedUploadBytes: metricOf(testbed, testbed.origin, SEED_METRICS_PORT, UPLOADED),
        hostBackToSourceBytes: testbed.hosts.reduce((sum, host) => sum + metricOf(testbed, host, METRICS_PORT, BACK_TO_SOURCE), 0),
      }),
      stop: () => processes.stopAll(),
    }
  }

  /** The scheduler, then every daemon at once; resolves once each answers /healthy and the scheduler has logged every host's announcement. */
  private async start(context: ScenarioContext, processes: RoundProcesses, init: { pkiDir: string; daemons: readonly DaemonSpec[] }): Promise<void> {
    const { testbed, dir } = context
    const origin = testbed.origin
    const schedulerLog = join(dir, 'scheduler.log')
    const scheduler = processes.start(
      origin,
      process.execPath,
      [
        ...cpuProfileArgs('scheduler'), cliPath('damselfly'), 'scheduler', '--listen-ip', origin.ip, '--port', String(SCHEDULER_PORT), '--metrics-port', String(SCHEDULER_METRICS_PORT),
        '--pki-dir', init.pkiDir,
      ],
      { logPath: schedulerLog },
    )
    await waitFor(async () => {
      const error = exitedError(scheduler, 'the scheduler', schedulerLog)
      if (error !== undefined) throw error
      return (await loggedCount(schedulerLog, 'scheduler listening')) > 0
    }, 'the scheduler to listen', STARTUP_TIMEOUT_MS)
    const schedulerAddress = `${origin.ip}:${SCHEDULER_PORT}`
    await Promise.all(
      init.daemons.map(async (daemon) => {
        const logPath = join(daemon.dir, 'dfdaemon.log')
        const child = processes.start(
          daemon.node,
          process.execPath,
          [
            ...cpuProfileArgs(daemon.seed ? 'seed' : daemon.node.namespace), ...DAEMON_NODE_OPTIONS, cliPath('dfdaemon'), '--data-dir', join(daemon.dir, 'data'), '--socket', daemon.socketPath, '--upload-port', String(daemon.ports.upload),
            '--proxy-port', String(daemon.ports.proxy), '--metrics-port', String(daemon.ports.metrics), '--scheduler', schedulerAddress,
            '--host-ip', daemon.node.ip, ...(daemon.seed ? ['--seed'] : []), ...daemon.identityArgs,
          ],
          { logPath },
        )
        await waitFor(async () => {
          const error = exitedError(child, `dfdaemon on ${daemon.node.namespace}`, logPath)
          if (error !== undefined) throw error
          return socketGet(daemon.socketPath, '/healthy').then((answer) => answer.status === 200, () => false)
        }, `dfdaemon on ${daemon.node.namespace} to answer /healthy`, STARTUP_TIMEOUT_MS)
      }),
    )
    await waitFor(
      async () => (await loggedCount(schedulerLog, 'host announced')) >= init.daemons.length,
      'every host to announce itself to the scheduler',
      STARTUP_TIMEOUT_MS,
    )
  }

  /** Asks every host's daemon for the payload at once; each host is done when its daemon says the stored file is whole. */
  private async fetchAll(context: ScenarioContext, hosts: readonly DaemonSpec[]): Promise<Delivery> {
    const { testbed, payload, downloadTimeoutMs } = context
    const startedMs = performance.now()
    const signal = AbortSignal.timeout(downloadTimeoutMs)
    // Every host's request listens on this one deadline.
    setMaxListeners(0, signal)
    // dfget would then hard-link the stored file to its output: no bytes move in that step.
    const done = await onEveryHost(testbed.hosts, async (_, i) => {
      const answer = await new LocalApiClient({ socketPath: hosts[i]!.socketPath }).downloadPath({ url: payload.url }, { signal })
      const doneMs = performance.now() - startedMs
      if (answer.contentPath === null) throw new Error('the daemon keeps no file to hand over (its store is not file-backed)')
      return { file: answer.contentPath, doneMs }
    })
    return { files: done.map((host) => host.file), hostDoneMs: done.map((host) => host.doneMs) }
  }
}
