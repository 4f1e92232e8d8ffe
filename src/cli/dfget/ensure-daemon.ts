import { spawn } from 'node:child_process'
import { mkdirSync, openSync, closeSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { systemClock } from '../../common/clock.js'
import { DamselflyError } from '../../protocol/damselfly-error.js'
import type { LocalApiClient } from '../../daemon/api/local-api-client.js'
import { DAEMON_NODE_OPTIONS } from '../../daemon/node-options.js'
import { defaultSocketPath } from '../../daemon/paths.js'

const START_TIMEOUT_MS = 15_000
const POLL_INTERVAL_MS = 100
/** The variable that moves a daemon's socket (`download.server.socketPath`); dfget looks there too. */
const SOCKET_VARIABLE = 'DFDAEMON_DOWNLOAD_SERVER_SOCKET_PATH'

/** The dfdaemon entry beside this build: dfdaemon.js under dist, dfdaemon.ts when run from source. */
function daemonEntry(): string {
  const self = fileURLToPath(import.meta.url)
  return join(self, '..', '..', self.endsWith('.ts') ? 'dfdaemon.ts' : 'dfdaemon.js')
}

/**
 * The socket of this user's own daemon: where a dfdaemon started without flags in this
 * environment listens (`DFDAEMON_DOWNLOAD_SERVER_SOCKET_PATH`, else the default path), and where
 * dfget looks without `-e`.
 */
export function defaultEndpoint(env: Readonly<Record<string, string | undefined>>): string {
  const fromEnv = env[SOCKET_VARIABLE]
  return fromEnv === undefined || fromEnv === '' ? defaultSocketPath() : fromEnv
}

/** What dfget started, for the line it prints. */
export interface StartedDaemon {
  readonly pid: number | undefined
  readonly socketPath: string
  readonly dataDir: string
  readonly logPath: string
  /** `ip:port` of each network listener its config asks for. */
  readonly listeners: readonly string[]
}

/** One line for stderr saying what dfget started and where. */
export function describeStarted(started: StartedDaemon): string {
  return `started dfdaemon${started.pid === undefined ? '' : ` (pid ${started.pid})`} in the background on ${started.socketPath}: data in ${started.dataDir}, log in ${started.logPath}, listening on ${started.listeners.join(', ')}`
}

/**
 * Makes sure a daemon answers on `socketPath`. When none does and `socketPath` is the default
 * endpoint, starts one in the background (detached, logging to `log.dir`; `DFDAEMON_*` variables
 * configure it) and waits until it is healthy; for any other socket it fails with
 * DAEMON_UNAVAILABLE, since a daemon started there would be a second one, with its own store and
 * ports, that nobody asked for. Returns what it started, or undefined when a daemon was running.
 */
export async function ensureDaemon(client: LocalApiClient, socketPath: string, signal: AbortSignal): Promise<StartedDaemon | undefined> {
  if (await client.healthy(signal)) return undefined
  const endpoint = defaultEndpoint(process.env)
  if (resolve(socketPath) !== resolve(endpoint)) {
    throw new DamselflyError('DAEMON_UNAVAILABLE', `no dfdaemon answers on ${socketPath}; start one there (dfdaemon --socket ${socketPath}), or leave out -e to use ${endpoint}, where dfget starts one when none runs`)
  }
  // The same DFDAEMON_* variables that configure the daemon say where it keeps its data and logs.
  const { resolveDaemonConfig } = await import('../../daemon/config.js')
  const config = resolveDaemonConfig({ env: process.env, flags: { download: { server: { socketPath } } } })
  const logPath = join(config.log.dir, 'dfdaemon.log')
  let log: number
  try {
    mkdirSync(config.log.dir, { recursive: true })
    log = openSync(logPath, 'a')
  } catch (cause) {
    throw new DamselflyError('DAEMON_UNAVAILABLE', `no dfdaemon answers on ${socketPath}, and starting one failed: cannot write ${logPath}: ${(cause as NodeJS.ErrnoException).code ?? ''}`, { cause })
  }
  let pid: number | undefined
  try {
    const child = spawn(process.execPath, [...process.execArgv, ...DAEMON_NODE_OPTIONS, daemonEntry(), '--socket', socketPath], {
      detached: true,
      stdio: ['ignore', log, log],
    })
    pid = child.pid
    child.unref()
  } finally {
    closeSync(log)
  }
  const deadline = Date.now() + START_TIMEOUT_MS
  while (Date.now() < deadline) {
    if (await client.healthy(signal)) {
      const at = (server: { ip: string; port: number }, what: string): string => `${server.ip || '0.0.0.0'}:${server.port} (${what})`
      return {
        pid,
        socketPath,
        dataDir: config.storage.dir,
        logPath,
        listeners: [
          at(config.proxy.server, 'registry mirror'),
          at(config.metrics.server, 'metrics'),
          // The upload server runs only for a daemon that has schedulers to share with.
          ...(config.scheduler.addrs.length > 0 || config.manager.addrs.length > 0 ? [at(config.upload.server, 'upload')] : []),
        ],
      }
    }
    await systemClock.sleep(POLL_INTERVAL_MS, signal)
  }
  throw new DamselflyError('DAEMON_UNAVAILABLE', `started dfdaemon but it did not answer on ${socketPath} within ${START_TIMEOUT_MS / 1000}s; see ${logPath}`)
}
