import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs'
import { request as httpRequest } from 'node:http'
import { request as httpsRequest } from 'node:https'
import { createServer, type AddressInfo } from 'node:net'
import { join } from 'node:path'
import { guardChild, run, waitFor, waitForQuiet } from './processes.js'
import { requireCommand } from './require-command.js'
import { selfSignedCertificate } from './self-signed.js'

/** One line of the registry's access log: a request the registry finished answering. */
export interface RegistryRequest {
  readonly method: string
  /** The request URI as sent, query included. */
  readonly uri: string
  /** The URI without its query. */
  readonly path: string
  readonly status: number
  /** Body bytes the registry wrote (0 for HEAD). */
  readonly bodyBytes: number
  readonly userAgent: string
}

export interface RegistryOptions {
  /** Basic auth through an htpasswd file (bcrypt); works on plain HTTP too. */
  readonly htpasswd?: { readonly user: string; readonly password: string }
  /** Serve HTTPS (HTTP/2) with a self-signed certificate for IP 127.0.0.1; `caPath` is then set. */
  readonly tls?: boolean
  /** Listen on this port, as when a stopped registry comes back; a free one otherwise. */
  readonly port?: number
  /**
   * Bearer-token auth (distribution's `auth.token`), e.g. from `startTokenServer`: clients get 401
   * with `WWW-Authenticate: Bearer realm=…` and must bring a JWT signed by the key of `certPath`.
   * Not together with `htpasswd`.
   */
  readonly token?: RegistryTokenAuth
}

/** Where tokens come from and what they must say; `certPath` is the PEM bundle of trusted signers. */
export interface RegistryTokenAuth {
  readonly realm: string
  readonly service: string
  readonly issuer: string
  readonly certPath: string
}

/** A real `docker-registry serve` (distribution 2.8) on 127.0.0.1, with its own storage under its dir. */
export interface RegistryProcess {
  /** `http://127.0.0.1:PORT`, or `https://` with `tls`. */
  readonly url: string
  /** `127.0.0.1:PORT`, as image references and skopeo want it. */
  readonly host: string
  readonly port: number
  readonly storageDir: string
  /** The registry's own JSON log (logrus, one object per line, a "response completed" entry per request). */
  readonly logPath: string
  /** The access log (Apache combined format, one line per finished request), which `requests()` parses. */
  readonly accessLogPath: string
  /** The self-signed certificate to trust (PEM), only with `tls`. */
  readonly caPath?: string
  readonly child: ChildProcess
  /** Every request the registry has finished answering, oldest first, read from the access log now. */
  requests(): RegistryRequest[]
  /**
   * The requests once the access log has stopped growing (for 500 ms): the registry writes a
   * request's line as its handler returns, a moment after the client read the last byte. Count
   * hits with this, or a late line passes a check falsely.
   */
  settledRequests(): Promise<RegistryRequest[]>
  /**
   * How many blob GETs (`GET /v2/<repo>/blobs/sha256:<hex>`, not uploads) the registry answered with
   * 2xx, i.e. served blob bytes; a Range request (206) and an aborted transfer count as one each.
   * `digest` (`sha256:<hex>`) narrows it to one blob. The registry writes the access-log line as its
   * handler returns, which can be a moment after a client has read the last byte: assert with
   * `waitFor` when the GET has only just finished.
   */
  blobGets(digest?: string): number
  /** SIGTERM and wait for exit; SIGKILL after 5 s. Safe to repeat. */
  stop(): Promise<void>
  /** SIGKILL and wait for exit, as a crash. Safe to repeat. */
  kill(): Promise<void>
}

const STOP_GRACE_MS = 5_000
const READY_TIMEOUT_MS = 15_000
const PORT_ATTEMPTS = 5

// 127.0.0.1 - - [22/Nov/2026:03:10:11 +0000] "GET /v2/t/x/blobs/sha256:… HTTP/1.1" 200 5 "" "curl/7.88.1"
const ACCESS_LINE = /^\S+ \S+ \S+ \[[^\]]*\] "(\S+) ((?:[^"\\]|\\.)*) [^" ]+" (\d{3}) (\d+|-)(?: "(?:[^"\\]|\\.)*" "((?:[^"\\]|\\.)*)")?/
const BLOB_PATH = /^\/v2\/.+\/blobs\/(sha256:[0-9a-f]{64})$/

export function parseAccessLog(text: string): RegistryRequest[] {
  const requests: RegistryRequest[] = []
  for (const line of text.split('\n')) {
    const match = ACCESS_LINE.exec(line)
    if (match === null) continue
    const [, method = '', uri = '', status = '0', bytes = '-', userAgent = ''] = match
    requests.push({ method, uri, path: uri.split('?')[0] ?? uri, status: Number(status), bodyBytes: bytes === '-' ? 0 : Number(bytes), userAgent })
  }
  return requests
}

export function countBlobGets(requests: readonly RegistryRequest[], digest?: string): number {
  return requests.filter((r) => {
    if (r.method !== 'GET' || r.status < 200 || r.status > 299) return false
    const blob = BLOB_PATH.exec(r.path)?.[1]
    return blob !== undefined && (digest === undefined || blob === digest)
  }).length
}

/** Starts `docker-registry serve` in `dir` on a free 127.0.0.1 port and waits until `GET /v2/` answers. */
export async function startRegistry(dir: string, options: RegistryOptions = {}): Promise<RegistryProcess> {
  requireCommand('docker-registry', 'docker-registry')
  if (options.htpasswd !== undefined && options.token !== undefined) throw new Error('a registry takes htpasswd or token auth, not both')
  mkdirSync(dir, { recursive: true })
  const storageDir = join(dir, 'storage')
  mkdirSync(storageDir, { recursive: true })
  const htpasswdPath = options.htpasswd === undefined ? undefined : await writeHtpasswd(dir, options.htpasswd)
  const tls = options.tls === true ? await makeCertificate(dir) : undefined
  let lastFailure = ''
  for (let attempt = 0; attempt < PORT_ATTEMPTS; attempt++) {
    const port = options.port ?? (await freePort())
    const started = await startOn(dir, port, { storageDir, htpasswdPath, token: options.token, tls })
    if (started.ok) return started.registry
    lastFailure = started.failure
    if (!started.portTaken || options.port !== undefined) break
  }
  throw new Error(`docker-registry did not start: ${lastFailure}`)
}

type StartAttempt = { ok: true; registry: RegistryProcess } | { ok: false; portTaken: boolean; failure: string }

async function startOn(
  dir: string,
  port: number,
  setup: {
    storageDir: string
    htpasswdPath: string | undefined
    token: RegistryTokenAuth | undefined
    tls: { certPath: string; keyPath: string } | undefined
  },
): Promise<StartAttempt> {
  const host = `127.0.0.1:${port}`
  const url = `${setup.tls === undefined ? 'http' : 'https'}://${host}`
  const configPath = join(dir, 'config.yml')
  const logPath = join(dir, 'registry.log')
  const accessLogPath = join(dir, 'access.log')
  // JSON is YAML, and distribution's yaml.v2 loader reads it as such.
  const config = {
    version: '0.1',
    log: { level: 'info', formatter: 'json', accesslog: { disabled: false } },
    storage: {
      filesystem: { rootdirectory: setup.storageDir },
      delete: { enabled: true },
      maintenance: { uploadpurging: { enabled: false } },
    },
    http: {
      addr: host,
      secret: randomBytes(16).toString('hex'),
      headers: { 'X-Content-Type-Options': ['nosniff'] },
      ...(setup.tls === undefined ? {} : { tls: { certificate: setup.tls.certPath, key: setup.tls.keyPath } }),
    },
    health: { storagedriver: { enabled: false } },
    ...(setup.htpasswdPath === undefined ? {} : { auth: { htpasswd: { realm: 'basic-realm', path: setup.htpasswdPath } } }),
    ...(setup.token === undefined
      ? {}
      : { auth: { token: { realm: setup.token.realm, service: setup.token.service, issuer: setup.token.issuer, rootcertbundle: setup.token.certPath } } }),
  }
  writeFileSync(configPath, `${JSON.stringify(config, null, 2)}\n`)

  const logStart = logLength(logPath)
  // The registry writes the access log to stdout and its own log to stderr.
  const accessFd = openSync(accessLogPath, 'a')
  const logFd = openSync(logPath, 'a')
  // REGISTRY_* variables override the config file; keep the caller's environment out of it.
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('REGISTRY_')))
  const child = spawn('docker-registry', ['serve', configPath], { stdio: ['ignore', accessFd, logFd], env })
  closeSync(accessFd)
  closeSync(logFd)
  const { spawnError } = guardChild(child)

  const caPath = setup.tls?.certPath
  const ca = caPath === undefined ? undefined : readFileSync(caPath)
  const readyStatuses = setup.htpasswdPath === undefined && setup.token === undefined ? [200] : [401]
  try {
    await waitFor(async () => {
      const failed = spawnError()
      if (failed !== undefined) throw failed
      if (child.exitCode !== null || child.signalCode !== null) throw new Error('exited')
      const status = await probe(`${url}/v2/`, ca)
      return status !== undefined && readyStatuses.includes(status)
    }, `docker-registry to answer GET ${url}/v2/`, READY_TIMEOUT_MS)
  } catch (err) {
    await stopChild(child, 'SIGKILL')
    const log = readFileSync(logPath, 'utf8').slice(logStart)
    const failure = `${err instanceof Error ? err.message : String(err)}; log: ${log.slice(-2000)}`
    return { ok: false, portTaken: log.includes('address already in use'), failure }
  }

  return {
    ok: true,
    registry: {
      url,
      host,
      port,
      storageDir: setup.storageDir,
      logPath,
      accessLogPath,
      ...(caPath === undefined ? {} : { caPath }),
      child,
      requests: () => parseAccessLog(readFileSync(accessLogPath, 'utf8')),
      settledRequests: async () => {
        await waitForQuiet(() => readFileSync(accessLogPath, 'utf8').length, `the access log ${accessLogPath}`)
        return parseAccessLog(readFileSync(accessLogPath, 'utf8'))
      },
      blobGets: (digest?: string) => countBlobGets(parseAccessLog(readFileSync(accessLogPath, 'utf8')), digest),
      stop: () => stopChild(child, 'SIGTERM'),
      kill: () => stopChild(child, 'SIGKILL'),
    },
  }
}

async function stopChild(child: ChildProcess, signal: 'SIGTERM' | 'SIGKILL'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return
  const exited = new Promise<void>((done) => child.once('exit', () => done()))
  child.kill(signal)
  const timer = signal === 'SIGTERM' ? setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS) : undefined
  await exited
  clearTimeout(timer)
}

/** A port that was free a moment ago; the caller retries when the registry finds it taken. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo
      server.close(() => resolve(port))
    })
  })
}

/** The status of a GET, or undefined when nothing answers yet. */
function probe(url: string, ca: Buffer | undefined): Promise<number | undefined> {
  return new Promise((resolve) => {
    const options = { method: 'GET', timeout: 1_000, ...(ca === undefined ? {} : { ca }) }
    const req = (url.startsWith('https:') ? httpsRequest : httpRequest)(url, options, (res) => {
      res.resume()
      resolve(res.statusCode)
    })
    req.on('timeout', () => req.destroy())
    req.on('error', () => resolve(undefined))
    req.end()
  })
}

async function writeHtpasswd(dir: string, credentials: { user: string; password: string }): Promise<string> {
  requireCommand('htpasswd', 'apache2-utils')
  // The registry only accepts bcrypt entries.
  const result = await run('htpasswd', ['-Bbn', credentials.user, credentials.password], { timeoutMs: 30_000 })
  if (result.code !== 0) throw new Error(`htpasswd failed (${result.code}): ${result.stderr}`)
  const path = join(dir, 'htpasswd')
  writeFileSync(path, `${result.stdout.trim()}\n`)
  return path
}

function makeCertificate(dir: string): Promise<{ certPath: string; keyPath: string }> {
  return selfSignedCertificate(dir, 'registry', '/CN=127.0.0.1', 'subjectAltName=IP:127.0.0.1,DNS:localhost')
}

function logLength(path: string): number {
  return existsSync(path) ? readFileSync(path, 'utf8').length : 0
}
