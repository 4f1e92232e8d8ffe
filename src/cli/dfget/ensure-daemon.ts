import { spawn } from 'node:child_process'
import { mkdirSync, openSync, closeSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { systemClock } from '../../common/clock.js'
import { DamselflyError } from '../../protocol/damselfly-error.js'
import type { LocalApiClient } from '../../daemon/api/local-api-client.js'

const START_TIMEOUT_MS = 15_000
const POLL_INTERVAL_MS = 100

/** The dfdaemon entry beside this build: dfdaemon.js under dist, dfdaemon.ts when run from source. */
function daemonEntry(): string {
  const self = fileURLToPath(import.meta.url)
  return join(self, '..', '..', self.endsWith('.ts') ? 'dfdaemon.ts' : 'dfdaemon.js')
}

/**
 * Makes sure a daemon answers on `socketPath`: when none does, starts one in the background
 * (detached, logging to `log.dir`; `DFDAEMON_*` variables configure it) and waits
 * until it is healthy. Returns where the started daemon logs, or undefined when one was running.
 */
export async function ensureDaemon(client: LocalApiClient, socketPath: string, signal: AbortSignal): Promise<string | undefined> {
  if (await client.healthy(signal)) return undefined
  // The same DFDAEMON_* variables that configure the daemon say where it logs.
  const { resolveDaemonConfig } = await import('../../daemon/config.js')
  const logDir = resolveDaemonConfig({ env: process.env }).log.dir
  const logPath = join(logDir, 'dfdaemon.log')
  let log: number
  try {
    mkdirSync(logDir, { recursive: true })
    log = openSync(logPath, 'a')
  } catch (cause) {
    throw new DamselflyError('DAEMON_UNAVAILABLE', `no dfdaemon answers on ${socketPath}, and starting one failed: cannot write ${logPath}: ${(cause as NodeJS.ErrnoException).code ?? ''}`, { cause })
  }
  try {
    const child = spawn(process.execPath, [...process.execArgv, daemonEntry(), '--socket', socketPath], {
      detached: true,
      stdio: ['ignore', log, log],
    })
    child.unref()
  } finally {
    closeSync(log)
  }
  const deadline = Date.now() + START_TIMEOUT_MS
  while (Date.now() < deadline) {
    if (await client.healthy(signal)) return logPath
    await systemClock.sleep(POLL_INTERVAL_MS, signal)
  }
  throw new DamselflyError('DAEMON_UNAVAILABLE', `started dfdaemon but it did not answer on ${socketPath} within ${START_TIMEOUT_MS / 1000}s; see ${logPath}`)
}
