import { spawn, type ChildProcess } from 'node:child_process'
import { closeSync, existsSync, mkdirSync, openSync, readFileSync } from 'node:fs'
import { request } from 'node:http'
import { join, resolve } from 'node:path'
import { DAEMON_NODE_OPTIONS } from '../../src/daemon/node-options.js'
import { initClusterPki, loadClusterPki } from '../../src/security/cluster-pki.js'
import type { Role } from '../../src/security/identity.js'
import { issueLocalIdentity, writeIdentity } from '../../src/security/local-identity.js'

const ROOT = resolve(import.meta.dirname, '..', '..')

/** The built entry of a command; `npm test` builds first, so suites run what users run. */
/**
 * Ties a spawned service to this process: SIGKILL when the tests exit first, so no server
 * outlives its suite. Returns the spawn error, if any, for the caller's readiness check.
 */
export function guardChild(child: ChildProcess): { spawnError: () => Error | undefined } {
  const killOnExit = (): void => {
    child.kill('SIGKILL')
  }
  process.on('exit', killOnExit)
  child.once('exit', () => process.off('exit', killOnExit))
  let spawnError: Error | undefined
  child.once('error', (err) => (spawnError = err))
  return { spawnError: () => spawnError }
}

export function cliPath(name: 'dfdaemon' | 'dfget' | 'damselfly'): string {
  const path = join(ROOT, 'dist', 'cli', `${name}.js`)
  if (!existsSync(path)) throw new Error(`${path} is missing: run \`npm run build\` first`)
  return path
}

/** Polls until `check` holds or the deadline passes; never a fixed sleep. */
export async function waitFor(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (await check()) return
    await new Promise((done) => setTimeout(done, 50))
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
}

/**
 * Waits until `read` has returned the same value (compared as JSON) for `quietMs`, and returns it:
 * for counters that a server updates a moment after its client is done, such as a registry's
 * access log, written as its handler returns. Counting before then lets a late entry pass a check
 * falsely.
 */
export async function waitForQuiet<T>(read: () => T, what: string, quietMs = 500, timeoutMs = 10_000): Promise<T> {
  let value = read()
  let seen = JSON.stringify(value)
  let changedMs = performance.now()
  await waitFor(() => {
    value = read()
    const now = JSON.stringify(value)
    if (now !== seen) {
      seen = now
      changedMs = performance.now()
    }
    return performance.now() - changedMs >= quietMs
  }, `${what} to stay unchanged for ${quietMs} ms`, timeoutMs)
  return value
}

export function socketGet(socketPath: string, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolvePromise, reject) => {
    const req = request({ socketPath, path, method: 'GET' }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (chunk: Buffer) => chunks.push(chunk))
      res.on('end', () => resolvePromise({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }))
    })
    req.on('error', reject)
    req.end()
  })
}

/**
 * POSTs a download to the local API (stream delivery) and reads the whole answer: the status, the
 * bytes, the error body of a refusal, and the outcome trailer of a streamed one.
 */
export function localDownload(socketPath: string, body: Record<string, unknown>): Promise<{ status: number; body: Buffer; error: { code: string; details: Record<string, unknown> } | undefined; result: string | undefined }> {
  return new Promise((resolvePromise, reject) => {
    const payload = JSON.stringify(body)
    const req = request({ socketPath, path: '/v1/tasks/download', method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (chunk: Buffer) => chunks.push(chunk))
      res.on('end', () => {
        const bytes = Buffer.concat(chunks)
        const status = res.statusCode ?? 0
        const error = status >= 400 ? (JSON.parse(bytes.toString('utf8')) as { error: { code: string; details: Record<string, unknown> } }).error : undefined
        resolvePromise({ status, body: bytes, error, result: res.trailers['x-damselfly-result'] })
      })
    })
    req.on('error', reject)
    req.end(payload)
  })
}

export interface DaemonProcess {
  readonly socketPath: string
  readonly dataDir: string
  readonly logPath: string
  readonly child: ChildProcess
  /** `127.0.0.1:<port>` of the upload server. */
  uploadAddress(): string
  /** `127.0.0.1:<port>` of the registry mirror. */
  proxyAddress(): string
  /** `host:port` of `/metrics` and `/healthy`. */
  metricsAddress(): string
  /** SIGTERM and wait for exit; SIGKILL after a grace period. */
  stop(): Promise<void>
  /** SIGKILL and wait for exit, as a crash. */
  kill(): Promise<void>
}

function loggedAddress(logPath: string, message: string): string {
  for (const line of readFileSync(logPath, 'utf8').split('\n').reverse()) {
    if (line.includes(message)) return (JSON.parse(line) as { address: string }).address
  }
  throw new Error(`the daemon has not logged "${message}"`)
}

/** SIGTERM and wait for the exit, SIGKILL after `graceMs`. */
async function stopChild(child: ChildProcess, graceMs = 10_000): Promise<void> {
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
  await exited(child)
  clearTimeout(timer)
}

async function killChild(child: ChildProcess): Promise<void> {
  child.kill('SIGKILL')
  await exited(child)
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
  return new Promise((done) => child.once('exit', () => done()))
}

/**
 * The environment of a seed peer whose origins run on this machine's loopback, as every origin
 * and registry of the suites does: its default source policy refuses loopback for seed tasks.
 */
export const ALLOW_LOOPBACK_ORIGINS: Readonly<Record<string, string>> = { DFDAEMON_SEED_PEER_SOURCE_POLICY_ALLOW: '127.0.0.1/32,::1/128' }

/** A cluster a test daemon belongs to: it gets an identity from the cluster's CA (a seed one with `--seed`). */
export interface TestCluster {
  readonly pkiDir: string
}

/**
 * Gives a daemon in `dir` an identity from the cluster CA, as `damselfly pki issue` does: the
 * suites start many daemons, and a join token per daemon would only slow them down (join itself
 * has its own tests). Returns the flags that point the daemon at it.
 */
export async function issueTestIdentity(cluster: TestCluster, dir: string, role: Role, ips: readonly string[] = ['127.0.0.1']): Promise<string[]> {
  const pki = await loadClusterPki(cluster.pkiDir)
  const identityDir = join(dir, 'identity')
  await writeIdentity(identityDir, await issueLocalIdentity(pki.signer, { role, hostname: 'test-host', ips }))
  return ['--identity-dir', identityDir]
}

/** Starts dfdaemon on a socket in `dir`, upload server on port 0, and waits until it is healthy. */
export async function startDaemon(dir: string, options: { args?: string[]; env?: Record<string, string>; cluster?: TestCluster } = {}): Promise<DaemonProcess> {
  const socketPath = join(dir, 'dfdaemon.sock')
  const dataDir = join(dir, 'data')
  const logPath = join(dir, 'dfdaemon.log')
  mkdirSync(dir, { recursive: true })
  const args = options.args ?? []
  const identity = options.cluster === undefined ? [] : await issueTestIdentity(options.cluster, dir, args.includes('--seed') ? 'seed' : 'normal')
  const log = openSync(logPath, 'a')
  const child = spawn(
    process.execPath,
    [...DAEMON_NODE_OPTIONS, cliPath('dfdaemon'), '--data-dir', dataDir, '--socket', socketPath, '--upload-port', '0', '--proxy-port', '0', '--metrics-port', '0', '--log-level', 'debug', ...identity, ...args],
    { stdio: ['ignore', log, log], env: { ...process.env, DFDAEMON_UPLOAD_SERVER_IP: '127.0.0.1', ...options.env } },
  )
  closeSync(log)
  const daemon: DaemonProcess = {
    socketPath,
    dataDir,
    logPath,
    child,
    uploadAddress: () => loggedAddress(logPath, 'upload server listening'),
    proxyAddress: () => loggedAddress(logPath, 'proxy listening'),
    metricsAddress: () => loggedAddress(logPath, 'metrics server listening'),
    stop: () => stopChild(child),
    kill: () => killChild(child),
  }
  await waitFor(async () => {
    if (child.exitCode !== null) throw new Error(`dfdaemon exited with ${child.exitCode}: ${readFileSync(logPath, 'utf8').slice(-2000)}`)
    return socketGet(socketPath, '/healthy').then((r) => r.status === 200, () => false)
  }, 'dfdaemon to answer /healthy')
  return daemon
}

export interface RunResult {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

/** Runs a command to completion (killed after `timeoutMs`) and returns its exit code and output. */
export function run(command: string, args: readonly string[], options: { env?: Record<string, string>; timeoutMs?: number } = {}): Promise<RunResult> {
  return new Promise((done, reject) => {
    const child = spawn(command, args, { env: { ...process.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      done({ code, stdout, stderr })
    })
  })
}

export function dfget(args: readonly string[], options: { env?: Record<string, string>; timeoutMs?: number } = {}): Promise<RunResult> {
  return run(process.execPath, [cliPath('dfget'), ...args], options)
}

export interface SchedulerProcess extends TestCluster {
  readonly address: string
  /** `host:port` of its `/metrics` and `/healthy`. */
  readonly metricsAddress: string
  readonly child: ChildProcess
  stop(): Promise<void>
  kill(): Promise<void>
}

/**
 * Starts `damselfly scheduler` on 127.0.0.1 port 0 and waits until it logs its address. Its
 * cluster CA is made in `<dir>/pki` unless `pkiDir` names one to share with other schedulers.
 */
export async function startScheduler(dir: string, env: Record<string, string> = {}, options: { pkiDir?: string } = {}): Promise<SchedulerProcess> {
  mkdirSync(dir, { recursive: true })
  const logPath = join(dir, 'scheduler.log')
  const pkiDir = options.pkiDir ?? join(dir, 'pki')
  // With managers the CA is theirs: the scheduler runs on a certificate of it, issued here from
  // the CA the test's manager adopted (startManager's pkiDir).
  if (env.SCHEDULER_MANAGER_ADDRS !== undefined && env.SCHEDULER_SECURITY_INSECURE !== 'true' && env.SCHEDULER_SECURITY_IDENTITY_DIR === undefined) {
    const pki = (await initClusterPki(pkiDir)).pki
    const identityDir = join(dir, 'identity')
    await writeIdentity(identityDir, await issueLocalIdentity(pki.signer, { role: 'scheduler', hostname: 'test-scheduler', ips: ['127.0.0.1'] }))
    env = { ...env, SCHEDULER_SECURITY_IDENTITY_DIR: identityDir }
  }
  const log = openSync(logPath, 'a')
  const child = spawn(process.execPath, [cliPath('damselfly'), 'scheduler', '--listen-ip', '127.0.0.1', '--port', '0', '--metrics-port', '0', '--log-level', 'debug', '--pki-dir', pkiDir], {
    stdio: ['ignore', log, log],
    env: { ...process.env, SCHEDULER_SCHEDULER_RETRY_INTERVAL: '100ms', ...env },
  })
  closeSync(log)
  let address = ''
  let metricsAddress = ''
  await waitFor(() => {
    if (child.exitCode !== null) throw new Error(`scheduler exited with ${child.exitCode}: ${readFileSync(logPath, 'utf8').slice(-2000)}`)
    const line = readFileSync(logPath, 'utf8').split('\n').find((text) => text.includes('scheduler listening'))
    if (line !== undefined) ({ address, metrics: metricsAddress } = JSON.parse(line) as { address: string; metrics: string })
    return address !== ''
  }, 'the scheduler to listen')
  return {
    address,
    metricsAddress,
    pkiDir,
    child,
    stop: () => stopChild(child),
    kill: () => killChild(child),
  }
}

/**
 * The value of one Prometheus sample, e.g. `damselfly_dfdaemon_download_traffic_bytes_total{type="remote_peer"}`.
 * Throws when the process does not export it, so a renamed metric or label fails every check that
 * reads it. A series of an open label set (an HTTP status, say) that has not moved yet is absent:
 * pass `absent` to read it as that value, which still needs the metric itself to be exported.
 */
/** The value of one sample (`name` or `name{labels}`) in a /metrics text; undefined when it has none. */
export function sampleIn(metricsText: string, sample: string): number | undefined {
  const line = metricsText.split('\n').find((row) => row.startsWith(`${sample} `))
  return line === undefined ? undefined : Number(line.slice(sample.length + 1))
}

export async function metricValue(metricsAddress: string, sample: string, options: { absent?: number } = {}): Promise<number> {
  const response = await fetch(`http://${metricsAddress.replace('0.0.0.0', '127.0.0.1')}/metrics`)
  const text = await response.text()
  const value = sampleIn(text, sample)
  if (value !== undefined) return value
  const rows = text.split('\n')
  const name = sample.split('{')[0] ?? sample
  if (options.absent !== undefined && rows.includes(`# TYPE ${name} counter`)) return options.absent
  const family = rows.filter((row) => row.startsWith(`${name}{`) || row.startsWith(`${name} `))
  throw new Error(`${metricsAddress} exports no sample ${sample}${family.length === 0 ? ` (nor any of ${name})` : `; it has ${family.join(', ')}`}`)
}

export interface ManagerProcess {
  /** `host:port` of its gRPC (registration, keepalive, discovery). */
  readonly grpcAddress: string
  /** `host:port` of its REST, `/healthy` and `/metrics`. */
  readonly restAddress: string
  readonly logPath: string
  readonly child: ChildProcess
  stop(): Promise<void>
  kill(): Promise<void>
}

/**
 * Starts `damselfly manager` on 127.0.0.1 ports 0 with its data in `dir` (SQLite there unless
 * `databaseUrl` names another database) and waits until it logs its addresses.
 */
/**
 * `damselfly manager` on 127.0.0.1, REST and gRPC on port 0. With `pkiDir`, it adopts the CA
 * there on its first start, so hosts the test certifies from that directory are its hosts.
 */
export async function startManager(dir: string, options: { databaseUrl?: string; env?: Record<string, string>; pkiDir?: string } = {}): Promise<ManagerProcess> {
  mkdirSync(dir, { recursive: true })
  const logPath = join(dir, 'manager.log')
  // A manager started again in the same directory appends: only what this one logs counts.
  const logStart = existsSync(logPath) ? readFileSync(logPath).length : 0
  const log = openSync(logPath, 'a')
  const database = options.databaseUrl === undefined ? [] : ['--database-url', options.databaseUrl]
  const child = spawn(process.execPath, [cliPath('damselfly'), 'manager', '--listen-ip', '127.0.0.1', '--port', '0', '--grpc-port', '0', '--log-level', 'debug', '--data-dir', dir, ...database], {
    stdio: ['ignore', log, log],
    env: { ...process.env, ...(options.pkiDir === undefined ? {} : { MANAGER_SECURITY_IMPORT_PKI_DIR: options.pkiDir }), ...options.env },
  })
  closeSync(log)
  guardChild(child)
  let grpcAddress = ''
  let restAddress = ''
  await waitFor(() => {
    if (child.exitCode !== null) throw new Error(`manager exited with ${child.exitCode}: ${readFileSync(logPath, 'utf8').slice(-2000)}`)
    const line = readFileSync(logPath).subarray(logStart).toString('utf8').split('\n').find((text) => text.includes('"manager listening"'))
    if (line !== undefined) ({ grpc: grpcAddress, rest: restAddress } = JSON.parse(line) as { grpc: string; rest: string })
    return grpcAddress !== ''
  }, 'the manager to listen')
  return { grpcAddress, restAddress, logPath, child, stop: () => stopChild(child), kill: () => killChild(child) }
}
