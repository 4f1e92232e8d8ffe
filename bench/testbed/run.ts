/**
 * The proving ground, first slice: on one shaped namespace testbed, N hosts fetch one random file
 * (a) with curl straight from the origin, all at once, and (b) with dfget through one dfdaemon per
 * host. The scheduler, the seed daemon and the HTTP origin all live in the origin namespace, so the
 * seed's upload shares the origin link's rate with the origin itself. Prints a markdown table.
 * Run (as root, after `npm run build`):
 *   node --import tsx bench/testbed/run.ts --hosts 4 --size 64MiB --host-rate 100mbit --origin-rate 100mbit
 */
import { mkdir, readFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { performance } from 'node:perf_hooks'
import { parseArgs } from 'node:util'
import { formatBytes, parseBytes } from '../../src/common/units.js'
import { sha256File, tempDir } from '../../test/support/files.js'
import { makeRandomFile, type Content } from '../../test/support/origin-server.js'
import { cliPath, socketGet, waitFor } from '../../test/support/processes.js'
import { ChildProcesses, type TimedExit } from '../support/child-processes.js'
import { MAX_HOSTS, Testbed, type Node } from './testbed.js'

const STATIC_SERVER = resolve(import.meta.dirname, 'static-server.ts')
const ORIGIN_PORT = 8080
const SCHEDULER_PORT = 8002
const SCHEDULER_METRICS_PORT = 8000
const UPLOAD_PORT = 65002
const PROXY_PORT = 65001
const SEED_UPLOAD_PORT = 65012
const SEED_PROXY_PORT = 65011
const STARTUP_TIMEOUT_MS = 60_000
const DOWNLOAD_TIMEOUT_MS = 600_000
const QUERY_TIMEOUT_MS = 10_000
const PAYLOAD_NAME = 'payload.bin'

interface Round {
  readonly lastDoneMs: number
  readonly originBytes: number
  readonly perHostMs: readonly number[]
  readonly digestsOk: number
}

/** tc rate such as `100mbit`, `1gbit`, `500kbit`, `12mbps` in bytes per second. */
function rateBytesPerSecond(rate: string): number {
  const match = /^(\d+(?:\.\d+)?)(bit|kbit|mbit|gbit|bps|kbps|mbps|gbps)$/i.exec(rate.trim())
  if (match === null) throw new Error(`unrecognised tc rate ${rate}`)
  const [, value = '0', unit = ''] = match
  const factors: Record<string, number> = { bit: 1 / 8, kbit: 1e3 / 8, mbit: 1e6 / 8, gbit: 1e9 / 8, bps: 1, kbps: 1e3, mbps: 1e6, gbps: 1e9 }
  return Number(value) * factors[unit.toLowerCase()]!
}

function parseOptions(): { hosts: number; sizeBytes: number; hostRate: string; originRate: string } {
  const { values } = parseArgs({
    options: {
      hosts: { type: 'string', default: '4' },
      size: { type: 'string', default: '64MiB' },
      'host-rate': { type: 'string', default: '100mbit' },
      'origin-rate': { type: 'string', default: '100mbit' },
    },
  })
  const hosts = Number(values.hosts)
  if (!Number.isInteger(hosts) || hosts < 1 || hosts > MAX_HOSTS) throw new Error(`--hosts must be 1..${MAX_HOSTS}`)
  rateBytesPerSecond(values['host-rate'])
  rateBytesPerSecond(values['origin-rate'])
  return { hosts, sizeBytes: parseBytes(values.size), hostRate: values['host-rate'], originRate: values['origin-rate'] }
}

async function logged(logPath: string, message: string): Promise<number> {
  const text = await readFile(logPath, 'utf8').catch(() => '')
  return text.split('\n').filter((line) => line.includes(`"msg":"${message}"`)).length
}

function originBytesSent(testbed: Testbed): number {
  const stats = testbed.output(testbed.origin, 'curl', ['-sS', `http://${testbed.origin.ip}:${ORIGIN_PORT}/_stats`], { timeoutMs: QUERY_TIMEOUT_MS })
  return (JSON.parse(stats) as { bodyBytesSent: number }).bodyBytesSent
}

/** Starts every download at once; returns when the last one ended. */
async function allAtOnce(hosts: readonly Node[], download: (host: Node, index: number) => Promise<TimedExit>): Promise<{ lastDoneMs: number; exits: TimedExit[] }> {
  const startedMs = performance.now()
  const exits = await Promise.all(hosts.map((host, index) => download(host, index)))
  const lastDoneMs = performance.now() - startedMs
  exits.forEach((exit, index) => {
    if (exit.code !== 0) throw new Error(`download on host ${index + 1} failed (${exit.code ?? exit.signal}): ${exit.stderr.slice(-1000)}`)
  })
  return { lastDoneMs, exits }
}

async function digestsMatching(files: readonly string[], content: Content): Promise<number> {
  const digests = await Promise.all(files.map((file) => sha256File(file)))
  return digests.filter((digest) => digest === content.sha256).length
}

async function curlRound(testbed: Testbed, dir: string, url: string, content: Content): Promise<Round> {
  const before = originBytesSent(testbed)
  const files = testbed.hosts.map((_, i) => join(dir, `curl-h${i + 1}.bin`))
  const { lastDoneMs, exits } = await allAtOnce(testbed.hosts, (host, i) =>
    testbed.exec(host, 'curl', ['-sS', '--fail', '-o', files[i]!, url], { timeoutMs: DOWNLOAD_TIMEOUT_MS }),
  )
  return { lastDoneMs, originBytes: originBytesSent(testbed) - before, perHostMs: exits.map((exit) => exit.elapsedMs), digestsOk: await digestsMatching(files, content) }
}

async function startDaemon(testbed: Testbed, node: Node, dir: string, ports: { upload: number; proxy: number }, seed: boolean, schedulerAddress: string): Promise<string> {
  await mkdir(dir, { recursive: true })
  const socketPath = join(dir, 'dfdaemon.sock')
  const logPath = join(dir, 'dfdaemon.log')
  const child = testbed.start(
    node,
    process.execPath,
    [
      cliPath('dfdaemon'), '--data-dir', join(dir, 'data'), '--socket', socketPath, '--upload-port', String(ports.upload),
      '--proxy-port', String(ports.proxy), '--scheduler', schedulerAddress, '--host-ip', node.ip, ...(seed ? ['--seed'] : []),
    ],
    { logPath, env: process.env },
  )
  await waitFor(async () => {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`dfdaemon on ${node.namespace} exited; see ${logPath}`)
    return socketGet(socketPath, '/healthy').then((answer) => answer.status === 200, () => false)
  }, `dfdaemon on ${node.namespace} to answer /healthy`, STARTUP_TIMEOUT_MS)
  return socketPath
}

async function damselflyRound(testbed: Testbed, dir: string, url: string, content: Content): Promise<Round> {
  const origin = testbed.origin
  const schedulerLog = join(dir, 'scheduler.log')
  const scheduler = testbed.start(
    origin,
    process.execPath,
    [cliPath('damselfly'), 'scheduler', '--listen-ip', origin.ip, '--port', String(SCHEDULER_PORT), '--metrics-port', String(SCHEDULER_METRICS_PORT)],
    { logPath: schedulerLog, env: process.env },
  )
  await waitFor(async () => {
    if (scheduler.exitCode !== null || scheduler.signalCode !== null) throw new Error(`scheduler exited; see ${schedulerLog}`)
    return (await logged(schedulerLog, 'scheduler listening')) > 0
  }, 'the scheduler to listen', STARTUP_TIMEOUT_MS)
  const schedulerAddress = `${origin.ip}:${SCHEDULER_PORT}`
  // The seed shares the origin namespace with the scheduler and the origin, so it needs its own ports.
  const [, ...sockets] = await Promise.all([
    startDaemon(testbed, origin, join(dir, 'seed'), { upload: SEED_UPLOAD_PORT, proxy: SEED_PROXY_PORT }, true, schedulerAddress),
    ...testbed.hosts.map((host, i) => startDaemon(testbed, host, join(dir, `h${i + 1}`), { upload: UPLOAD_PORT, proxy: PROXY_PORT }, false, schedulerAddress)),
  ])
  await waitFor(async () => (await logged(schedulerLog, 'host announced')) >= testbed.hosts.length + 1, 'every host to announce itself', STARTUP_TIMEOUT_MS)
  const before = originBytesSent(testbed)
  const files = testbed.hosts.map((_, i) => join(dir, `dfget-h${i + 1}.bin`))
  const { lastDoneMs, exits } = await allAtOnce(testbed.hosts, (host, i) =>
    testbed.exec(host, process.execPath, [cliPath('dfget'), url, '-O', files[i]!, '-e', sockets[i]!, '--no-progress'], { timeoutMs: DOWNLOAD_TIMEOUT_MS }),
  )
  return { lastDoneMs, originBytes: originBytesSent(testbed) - before, perHostMs: exits.map((exit) => exit.elapsedMs), digestsOk: await digestsMatching(files, content) }
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`
}

function report(options: ReturnType<typeof parseOptions>, curl: Round, damselfly: Round): string {
  const hostBps = rateBytesPerSecond(options.hostRate)
  const originBps = rateBytesPerSecond(options.originRate)
  const oneHostMs = (options.sizeBytes / hostBps) * 1000
  const originLimitedMs = ((options.hosts * options.sizeBytes) / originBps) * 1000
  const n = options.hosts
  const row = (name: string, round: Round): string =>
    `| ${name} | ${seconds(round.lastDoneMs)} | ${round.perHostMs.map(seconds).join(', ')} | ${formatBytes(round.originBytes)} (${(round.originBytes / options.sizeBytes).toFixed(2)}x) | ${round.digestsOk}/${n} |`
  return [
    `${n} hosts x ${formatBytes(options.sizeBytes)}, host links ${options.hostRate}, origin link ${options.originRate} (tbf, both directions); scheduler, seed and origin in the origin namespace`,
    '',
    '| method | last done | per host | origin sent | sha256 ok |',
    '|---|---|---|---|---|',
    row('curl from origin', curl),
    row('Damselfly dfget', damselfly),
    `| bound: size / host rate (one host) | ${seconds(oneHostMs)} | | | |`,
    `| bound: N x size / origin rate (origin-limited curl) | ${seconds(originLimitedMs)} | | | |`,
  ].join('\n')
}

async function main(): Promise<void> {
  const options = parseOptions()
  const children = new ChildProcesses()
  const testbed = new Testbed({ children })
  const work = await tempDir('testbed')
  let cleaning: Promise<void> | undefined
  const cleanUp = (): Promise<void> =>
    (cleaning ??= (async () => {
      await children.stopAll()
      testbed.down()
      await work.remove()
    })())
  process.once('SIGINT', () => {
    console.error('interrupted: tearing the testbed down')
    void cleanUp().finally(() => process.exit(130))
  })
  try {
    testbed.up(options.hosts, { hostRate: options.hostRate, originRate: options.originRate })
    const originDir = join(work.path, 'origin')
    await mkdir(originDir, { recursive: true })
    const content = await makeRandomFile(join(originDir, PAYLOAD_NAME), options.sizeBytes)
    const originLog = join(work.path, 'origin.log')
    const server = testbed.start(
      testbed.origin,
      process.execPath,
      ['--import', 'tsx', STATIC_SERVER, '--dir', originDir, '--ip', testbed.origin.ip, '--port', String(ORIGIN_PORT)],
      { logPath: originLog, env: process.env },
    )
    await waitFor(async () => {
      if (server.exitCode !== null || server.signalCode !== null) throw new Error(`origin exited: ${await readFile(originLog, 'utf8')}`)
      return (await logged(originLog, 'origin listening')) > 0
    }, 'the origin to listen', STARTUP_TIMEOUT_MS)
    const url = `http://${testbed.origin.ip}:${ORIGIN_PORT}/${PAYLOAD_NAME}`
    const curl = await curlRound(testbed, work.path, url, content)
    const damselfly = await damselflyRound(testbed, work.path, url, content)
    console.log(report(options, curl, damselfly))
  } finally {
    await cleanUp()
  }
}

await main()
