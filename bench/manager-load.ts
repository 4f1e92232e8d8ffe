/**
 * Manager load: the built manager in a child process of its own, on SQLite and on PostgreSQL, and
 * in this process simulated members over the real gRPC API with mutual TLS: schedulers that
 * register, keep alive every 5 s and report their hosts every 30 s, and daemons that register
 * (as seed peers, the daemons that register), keep alive every 5 s and ask for their schedulers.
 * Reports registrations per second, the latency of each call, and the manager's CPU and memory.
 * Run: `node --import tsx bench/manager-load.ts [--daemons 1000] [--schedulers 20] [--duration 60] [--databases sqlite,postgres]`.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { availableParallelism } from 'node:os'
import { join, resolve } from 'node:path'
import { performance } from 'node:perf_hooks'
import { parseArgs } from 'node:util'
import { Metadata, type ServiceError } from '@grpc/grpc-js'
import { formatBytes } from '../src/common/units.js'
import { createTestDatabase, type TestDatabase } from '../src/manager/db/database-fixtures.js'
import { ManagerServiceClient, SourceType, type RegisterSchedulerResponse, type RegisterSeedPeerResponse } from '../src/protocol/generated/damselfly/manager/v1/manager.js'
import { MANAGER_CHANNEL_OPTIONS, managerChannelCredentials } from '../src/security/grpc-tls.js'
import { issueLocalIdentity, type LocalIdentity } from '../src/security/local-identity.js'
import { createCertificateAuthority, loadCaSigner } from '../src/security/x509.js'
import { tempDir } from '../test/support/files.js'
import { cliPath, waitFor } from '../test/support/processes.js'
import { BenchRun } from './support/bench-run.js'
import { publishSection, sectionPreamble } from './support/benchmarks-doc.js'
import { DEFAULT_DOC_PATH, positiveInteger } from './support/options.js'
import { cpuTimeMs, machineBusyCpuMs } from './support/process-cpu.js'
import { peakRssBytes } from './support/scheduler-child.js'

const SECTION = 'manager-load'
const RUN_LINE = 'node --import tsx bench/manager-load.ts [--daemons 1000] [--schedulers 20] [--duration 60] [--databases sqlite,postgres]'
const KEEPALIVE_MS = 5_000
const REPORT_HOSTS_MS = 30_000
const HOSTS_PER_SCHEDULER = 50
const STARTUP_TIMEOUT_MS = 60_000
const CALL_DEADLINE_MS = 10_000
/** Registrations in flight at once while the members join. */
const REGISTER_CONCURRENCY = 64

const USAGE = `usage: ${RUN_LINE} [--discovery-interval 10] [--no-docs]

  --daemons             simulated daemons, each with its own identity and connection (default 1000)
  --schedulers          simulated schedulers (default 20)
  --duration            seconds of steady keepalives measured after every member registered (default 60)
  --discovery-interval  seconds between a daemon's requests for its schedulers (default 10)
  --databases           comma-separated: sqlite, postgres (default both; postgres on 127.0.0.1:5432)
  --profile             write a V8 CPU profile of each manager into this directory (it slows the manager a little)
  --no-docs             print the table only; leave docs/benchmarks.md alone`

type DatabaseName = 'sqlite' | 'postgres'

interface Options {
  readonly daemons: number
  readonly schedulers: number
  readonly durationMs: number
  readonly discoveryIntervalMs: number
  readonly databases: readonly DatabaseName[]
  readonly updateDocs: boolean
  readonly profileDir: string | undefined
}

/** Call latencies of one kind, in milliseconds, and how many calls failed. */
class Latencies {
  readonly samples: number[] = []
  failures = 0
  firstFailure: string | undefined

  record(ms: number): void {
    this.samples.push(ms)
  }

  fail(error: unknown): void {
    this.failures += 1
    this.firstFailure ??= (error as Error).message
  }

  percentile(fraction: number): number {
    const sorted = [...this.samples].sort((a, b) => a - b)
    return sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))] ?? Number.NaN
  }
}

interface Member {
  readonly kind: 'scheduler' | 'daemon'
  readonly index: number
  readonly identity: LocalIdentity
  readonly client: ManagerServiceClient
  clusterId: number
}

interface RowResult {
  readonly database: DatabaseName
  readonly registrationsPerSecond: number
  readonly register: Latencies
  readonly keepalive: Latencies
  readonly discovery: Latencies
  readonly reportHosts: Latencies
  readonly managerCpuPerSecondMs: number
  /** Calls answered per second of steady load, of every kind. */
  readonly callsPerSecond: number
  readonly machineBusyShare: number | undefined
  readonly peakRssBytes: number | undefined
}

function parseOptions(): Options {
  const { values } = parseArgs({
    options: {
      daemons: { type: 'string', default: '1000' },
      schedulers: { type: 'string', default: '20' },
      duration: { type: 'string', default: '60' },
      'discovery-interval': { type: 'string', default: '10' },
      databases: { type: 'string', default: 'sqlite,postgres' },
      'no-docs': { type: 'boolean', default: false },
      profile: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  })
  if (values.help) {
    console.log(USAGE)
    process.exit(0)
  }
  const databases = values.databases.split(',').map((name) => name.trim()).filter((name) => name !== '')
  for (const name of databases) if (name !== 'sqlite' && name !== 'postgres') throw new Error(`--databases: unknown database ${JSON.stringify(name)} (sqlite, postgres)`)
  return {
    daemons: positiveInteger(values.daemons, '--daemons'),
    schedulers: positiveInteger(values.schedulers, '--schedulers'),
    durationMs: positiveInteger(values.duration, '--duration') * 1000,
    discoveryIntervalMs: positiveInteger(values['discovery-interval'], '--discovery-interval') * 1000,
    databases: databases as DatabaseName[],
    updateDocs: !values['no-docs'],
    profileDir: values.profile,
  }
}

function unary<Res>(run: (metadata: Metadata, options: { deadline: Date }, done: (error: ServiceError | null, response: Res) => void) => void): Promise<Res> {
  return new Promise((resolve, reject) => {
    run(new Metadata(), { deadline: new Date(Date.now() + CALL_DEADLINE_MS) }, (error, response) => (error === null ? resolve(response) : reject(error)))
  })
}

async function timed<T>(latencies: Latencies, call: () => Promise<T>): Promise<T | undefined> {
  const startedMs = performance.now()
  try {
    const result = await call()
    latencies.record(performance.now() - startedMs)
    return result
  } catch (error) {
    latencies.fail(error)
    return undefined
  }
}

/** Starts the built manager on 127.0.0.1 (REST and gRPC on port 0), adopting the bench's CA; returns its gRPC address. */
async function startManager(run: BenchRun, dir: string, pkiDir: string, databaseUrl: string, profileDir: string | undefined): Promise<{ pid: number | undefined; grpcAddress: string }> {
  const logPath = join(dir, 'manager.log')
  const profile = profileDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${resolve(profileDir)}`]
  const child = run.children.start(
    process.execPath,
    [...profile, cliPath('damselfly'), 'manager', '--listen-ip', '127.0.0.1', '--port', '0', '--grpc-port', '0', '--data-dir', join(dir, 'data'), ...(databaseUrl === '' ? [] : ['--database-url', databaseUrl])],
    { logPath, env: { ...process.env, MANAGER_SECURITY_IMPORT_PKI_DIR: pkiDir, DAMSELFLY_ROOT_PASSWORD: 'bench-root-password' } },
  )
  let grpcAddress: string | undefined
  await waitFor(async () => {
    const log = await readFile(logPath, 'utf8').catch(() => '')
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`the manager exited with ${child.exitCode ?? child.signalCode}: ${log.slice(-2000)}`)
    const line = log.split('\n').find((text) => text.includes('"msg":"manager listening"'))
    grpcAddress = line === undefined ? undefined : (JSON.parse(line) as { grpc: string }).grpc
    return grpcAddress !== undefined
  }, 'the manager to listen', STARTUP_TIMEOUT_MS)
  return { pid: child.pid, grpcAddress: grpcAddress ?? '' }
}

async function register(member: Member, latencies: Latencies): Promise<void> {
  const name = `bench-${member.kind}-${member.index}`
  const hostId = member.identity.identity.hostId
  if (member.kind === 'scheduler') {
    const answer = await timed(latencies, () => unary<RegisterSchedulerResponse>((metadata, options, done) => member.client.registerScheduler(
      { hostname: name, ip: '127.0.0.1', port: 8002, idc: '', location: '', features: [], hostId, clusterId: 0 }, metadata, options, done)))
    member.clusterId = answer?.scheduler?.clusterId ?? 0
  } else {
    const answer = await timed(latencies, () => unary<RegisterSeedPeerResponse>((metadata, options, done) => member.client.registerSeedPeer(
      { hostname: name, ip: '127.0.0.1', port: 65002, type: 'super', idc: '', location: '', hostId, clusterId: 0 }, metadata, options, done)))
    member.clusterId = answer?.seedPeer?.clusterId ?? 0
  }
}

/** Runs `task` every `intervalMs` from a random phase until `untilMs` (performance.now()), never two at once. */
async function every(intervalMs: number, untilMs: number, task: () => Promise<void>): Promise<void> {
  let nextMs = performance.now() + Math.random() * intervalMs
  while (nextMs < untilMs) {
    await new Promise((done) => setTimeout(done, Math.max(0, nextMs - performance.now())))
    await task()
    nextMs += intervalMs
  }
}

async function runDatabase(run: BenchRun, options: Options, database: DatabaseName, dir: string, pkiDir: string, identities: { schedulers: LocalIdentity[]; daemons: LocalIdentity[] }): Promise<RowResult> {
  const testDatabase: TestDatabase | undefined = database === 'postgres' ? run.hold(await createTestDatabase('postgres'), (test) => test.drop()) : undefined
  await mkdir(dir, { recursive: true })
  const manager = await startManager(run, dir, pkiDir, testDatabase?.url ?? '', options.profileDir)
  const members: Member[] = [
    ...identities.schedulers.map((identity, index) => ({ kind: 'scheduler' as const, index, identity })),
    ...identities.daemons.map((identity, index) => ({ kind: 'daemon' as const, index, identity })),
  ].map((member) => ({ ...member, clusterId: 0, client: new ManagerServiceClient(manager.grpcAddress, managerChannelCredentials(member.identity), MANAGER_CHANNEL_OPTIONS) }))
  try {
    const latencies = { register: new Latencies(), keepalive: new Latencies(), discovery: new Latencies(), reportHosts: new Latencies() }
    const registerStartMs = performance.now()
    let next = 0
    await Promise.all(Array.from({ length: REGISTER_CONCURRENCY }, async () => {
      while (next < members.length) {
        const member = members[next++]
        if (member !== undefined) await register(member, latencies.register)
      }
    }))
    const registrationsPerSecond = members.length / ((performance.now() - registerStartMs) / 1000)
    const cpuBeforeMs = await cpuTimeMs(manager.pid)
    const busyBeforeMs = await machineBusyCpuMs()
    const startMs = performance.now()
    const untilMs = startMs + options.durationMs
    await Promise.all(members.flatMap((member) => {
      const hostname = `bench-${member.kind}-${member.index}`
      const sourceType = member.kind === 'scheduler' ? SourceType.SOURCE_TYPE_SCHEDULER : SourceType.SOURCE_TYPE_SEED_PEER
      const loops = [every(KEEPALIVE_MS, untilMs, async () => {
        await timed(latencies.keepalive, () => unary((metadata, callOptions, done) => member.client.keepAlive({ sourceType, hostname, ip: '127.0.0.1', clusterId: member.clusterId }, metadata, callOptions, done)))
      })]
      if (member.kind === 'daemon') {
        loops.push(every(options.discoveryIntervalMs, untilMs, async () => {
          await timed(latencies.discovery, () => unary((metadata, callOptions, done) => member.client.listSchedulers({ hostname, ip: '127.0.0.1', idc: '', location: '', version: '', hostId: member.identity.identity.hostId }, metadata, callOptions, done)))
        }))
      } else {
        const hosts = Array.from({ length: HOSTS_PER_SCHEDULER }, (_, host) => ({
          hostId: `${member.index.toString(16).padStart(4, '0')}${host.toString(16).padStart(28, '0')}`, hostname: `node-${member.index}-${host}`, ip: '127.0.0.1', port: 65002, idc: '', location: '', version: 'bench', os: 'linux', type: 'normal',
        }))
        loops.push(every(REPORT_HOSTS_MS, untilMs, async () => {
          await timed(latencies.reportHosts, () => unary((metadata, callOptions, done) => member.client.reportHosts({ hostname, ip: '127.0.0.1', clusterId: member.clusterId, hosts }, metadata, callOptions, done)))
        }))
      }
      return loops
    }))
    const elapsedMs = performance.now() - startMs
    const cpuAfterMs = await cpuTimeMs(manager.pid)
    const busyAfterMs = await machineBusyCpuMs()
    const answered = latencies.keepalive.samples.length + latencies.discovery.samples.length + latencies.reportHosts.samples.length
    return {
      database,
      registrationsPerSecond,
      callsPerSecond: answered / (elapsedMs / 1000),
      ...latencies,
      managerCpuPerSecondMs: cpuAfterMs === undefined || cpuBeforeMs === undefined ? Number.NaN : (cpuAfterMs - cpuBeforeMs) / (elapsedMs / 1000),
      machineBusyShare: busyAfterMs === undefined || busyBeforeMs === undefined ? undefined : (busyAfterMs - busyBeforeMs) / (elapsedMs * availableParallelism()),
      peakRssBytes: await peakRssBytes(manager.pid),
    }
  } finally {
    for (const member of members) member.client.close()
    await run.children.stopAll()
  }
}

function ms(value: number): string {
  return Number.isNaN(value) ? 'n/a' : value < 10 ? value.toFixed(2) : value.toFixed(1)
}

function table(rows: readonly RowResult[]): string[] {
  const lines = [
    '| database | registrations/s | register p99 ms | calls/s | keepalive p50 / p99 / max ms | discovery p50 / p99 ms | report hosts p99 ms | failed calls | manager CPU ms per s | manager CPU ms per call | machine busy | manager peak RSS |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|',
  ]
  for (const row of rows) {
    const failures = row.register.failures + row.keepalive.failures + row.discovery.failures + row.reportHosts.failures
    lines.push(`| ${row.database} | ${row.registrationsPerSecond.toFixed(0)} | ${ms(row.register.percentile(0.99))} | ${row.callsPerSecond.toFixed(0)} | ${ms(row.keepalive.percentile(0.5))} / ${ms(row.keepalive.percentile(0.99))} / ${ms(row.keepalive.percentile(1))} | ${ms(row.discovery.percentile(0.5))} / ${ms(row.discovery.percentile(0.99))} | ${ms(row.reportHosts.percentile(0.99))} | ${failures} | ${row.managerCpuPerSecondMs.toFixed(0)} | ${ms(row.managerCpuPerSecondMs / row.callsPerSecond)} | ${row.machineBusyShare === undefined ? 'n/a' : `${(row.machineBusyShare * 100).toFixed(0)}%`} | ${row.peakRssBytes === undefined ? 'n/a' : formatBytes(row.peakRssBytes)} |`)
  }
  return lines
}

/** What the rows show, each sentence computed from them. */
function findings(rows: readonly RowResult[], options: Options): string[] {
  return rows.map((row) => {
    const failures = row.register.failures + row.keepalive.failures + row.discovery.failures + row.reportHosts.failures
    return `- ${row.database}: ${options.schedulers + options.daemons} members joined at ${row.registrationsPerSecond.toFixed(0)} registrations a second (each a new TLS connection); under ${row.callsPerSecond.toFixed(0)} calls a second the keepalive p99 was ${ms(row.keepalive.percentile(0.99))} ms and the manager used ${(row.managerCpuPerSecondMs / 10).toFixed(0)}% of one core, ${ms(row.managerCpuPerSecondMs / row.callsPerSecond)} ms of CPU per call; ${failures === 0 ? 'no call failed' : `${failures} calls failed`}.`
  })
}

async function main(): Promise<void> {
  const options = parseOptions()
  const run = new BenchRun()
  run.releaseOnSignals()
  try {
    run.work = await tempDir('damselfly-manager-load-')
    const pkiDir = join(run.work.path, 'pki')
    await mkdir(pkiDir, { recursive: true, mode: 0o700 })
    const ca = await createCertificateAuthority({ commonName: 'Bench Cluster CA', validDays: 1 })
    await writeFile(join(pkiDir, 'ca.crt'), ca.certPem)
    await writeFile(join(pkiDir, 'ca.key'), ca.keyPem, { mode: 0o600 })
    const signer = await loadCaSigner(ca.certPem, ca.keyPem)
    console.error(`issuing ${options.schedulers + options.daemons} identities`)
    const schedulers = await Promise.all(Array.from({ length: options.schedulers }, (_, index) => issueLocalIdentity(signer, { role: 'scheduler', hostname: `bench-scheduler-${index}`, ips: ['127.0.0.1'] })))
    const daemons: LocalIdentity[] = []
    for (let index = 0; index < options.daemons; index++) daemons.push(await issueLocalIdentity(signer, { role: 'seed', hostname: `bench-daemon-${index}`, ips: ['127.0.0.1'] }))
    const rows: RowResult[] = []
    for (const database of options.databases) {
      console.error(`${database}: ${options.schedulers} schedulers and ${options.daemons} daemons register, then keep alive for ${options.durationMs / 1000} s`)
      const row = await runDatabase(run, options, database, join(run.work.path, database), pkiDir, { schedulers, daemons })
      rows.push(row)
      for (const [name, latencies] of Object.entries({ register: row.register, keepalive: row.keepalive, discovery: row.discovery, reportHosts: row.reportHosts })) {
        if (latencies.failures > 0) console.error(`${database} ${name}: ${latencies.failures} calls failed, first: ${latencies.firstFailure ?? ''}`)
      }
    }
    const command = `node --import tsx bench/manager-load.ts --daemons ${options.daemons} --schedulers ${options.schedulers} --duration ${options.durationMs / 1000} --discovery-interval ${options.discoveryIntervalMs / 1000} --databases ${options.databases.join(',')}`
    const body = [
      ...sectionPreamble({ runLine: RUN_LINE, command }),
      `One manager process, ${options.schedulers} schedulers and ${options.daemons} daemons simulated in the bench's own process over mutual TLS, each with its own identity and connection. Every member keeps alive every ${KEEPALIVE_MS / 1000} s, each daemon asks for its schedulers every ${options.discoveryIntervalMs / 1000} s and each scheduler reports ${HOSTS_PER_SCHEDULER} hosts every ${REPORT_HOSTS_MS / 1000} s, from random phases; latencies are from the call to its answer, measured by the caller. The manager's CPU is its user plus system time over the ${options.durationMs / 1000} s of steady load, from /proc.`,
      '',
      ...table(rows),
      '',
      'What the run shows:',
      '',
      ...findings(rows, options),
    ].join('\n')
    console.log(body)
    if (options.updateDocs) await publishSection(DEFAULT_DOC_PATH, SECTION, body)
  } finally {
    await run.release()
  }
}

await main()
