/**
 * Damselfly: the scheduler and a seed daemon in the origin's namespace (so the seed's uploads share
 * the origin's link), one dfdaemon per host, then `dfget` on every host at once. Every daemon
 * starts fresh for the round, with empty storage.
 */
import type { ChildProcess } from 'node:child_process'
import { mkdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { cliPath, issueTestIdentity, socketGet, waitFor } from '../../../test/support/processes.js'
import { isRunning, preparing, RoundProcesses, runOnEveryHost, type PreparedRound, type Scenario, type ScenarioContext } from '../scenario.js'
import type { Node, Testbed } from '../testbed.js'

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
  const line = text.split('\n').find((row) => row.startsWith(`${sample} `))
  return line === undefined ? 0 : Number(line.slice(sample.length + 1))
}

export class DamselflyScenario implements Scenario {
  readonly name = 'damselfly'

  prepare(context: ScenarioContext): Promise<PreparedRound> {
    const processes = new RoundProcesses(context)
    return preparing(processes, () => this.start(context, processes))
  }

  private async start(context: ScenarioContext, processes: RoundProcesses): Promise<PreparedRound> {
    const { testbed, dir, payload, downloadTimeoutMs } = context
    const origin = testbed.origin
    const schedulerLog = join(dir, 'scheduler.log')
    const cluster = { pkiDir: join(dir, 'pki') }
    const scheduler = processes.start(
      origin,
      process.execPath,
      [
        cliPath('damselfly'), 'scheduler', '--listen-ip', origin.ip, '--port', String(SCHEDULER_PORT), '--metrics-port', String(SCHEDULER_METRICS_PORT),
        '--pki-dir', cluster.pkiDir,
      ],
      { logPath: schedulerLog },
    )
    await waitFor(async () => {
      const error = exitedError(scheduler, 'the scheduler', schedulerLog)
      if (error !== undefined) throw error
      return (await loggedCount(schedulerLog, 'scheduler listening')) > 0
    }, 'the scheduler to listen', STARTUP_TIMEOUT_MS)
    const schedulerAddress = `${origin.ip}:${SCHEDULER_PORT}`
    const startDaemon = async (node: Node, name: string, ports: { upload: number; proxy: number; metrics: number }, seed: boolean): Promise<string> => {
      const daemonDir = join(dir, name)
      await mkdir(daemonDir, { recursive: true })
      const socketPath = join(daemonDir, 'dfdaemon.sock')
      const logPath = join(daemonDir, 'dfdaemon.log')
      const identity = await issueTestIdentity(cluster, daemonDir, seed ? 'seed' : 'normal', [node.ip])
      const child = processes.start(
        node,
        process.execPath,
        [
          cliPath('dfdaemon'), '--data-dir', join(daemonDir, 'data'), '--socket', socketPath, '--upload-port', String(ports.upload),
          '--proxy-port', String(ports.proxy), '--metrics-port', String(ports.metrics), '--scheduler', schedulerAddress, '--host-ip', node.ip, ...(seed ? ['--seed'] : []), ...identity,
        ],
        { logPath },
      )
      await waitFor(async () => {
        const error = exitedError(child, `dfdaemon on ${node.namespace}`, logPath)
        if (error !== undefined) throw error
        return socketGet(socketPath, '/healthy').then((answer) => answer.status === 200, () => false)
      }, `dfdaemon on ${node.namespace} to answer /healthy`, STARTUP_TIMEOUT_MS)
      return socketPath
    }
    // The seed shares the origin's namespace but fetches from its 10.77.0.2 address, not loopback,
    // so its default source policy lets seed tasks through.
    const [, ...sockets] = await Promise.all([
      startDaemon(origin, 'seed', { upload: SEED_UPLOAD_PORT, proxy: SEED_PROXY_PORT, metrics: SEED_METRICS_PORT }, true),
      ...testbed.hosts.map((host, i) => startDaemon(host, `h${i + 1}`, { upload: UPLOAD_PORT, proxy: PROXY_PORT, metrics: METRICS_PORT }, false)),
    ])
    await waitFor(
      async () => (await loggedCount(schedulerLog, 'host announced')) >= testbed.hosts.length + 1,
      'every host to announce itself to the scheduler',
      STARTUP_TIMEOUT_MS,
    )
    const files = testbed.hosts.map((_, i) => join(dir, `dfget-h${i + 1}.bin`))
    return {
      fetchAll: async () => {
        const hostDoneMs = await runOnEveryHost(testbed.hosts, (host, i) =>
          testbed.exec(host, process.execPath, [cliPath('dfget'), payload.url, '-O', files[i]!, '-e', sockets[i]!, '--no-progress'], { timeoutMs: downloadTimeoutMs }),
        )
        return {
          files,
          hostDoneMs,
          seedUploadBytes: metricOf(testbed, origin, SEED_METRICS_PORT, UPLOADED),
          hostBackToSourceBytes: testbed.hosts.reduce((sum, host) => sum + metricOf(testbed, host, METRICS_PORT, BACK_TO_SOURCE), 0),
        }
      },
      stop: () => processes.stopAll(),
    }
  }
}
