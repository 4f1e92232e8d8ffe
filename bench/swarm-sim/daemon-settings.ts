/**
 * The simulated daemons' config: dfdaemon's defaults, or those with some numeric settings changed
 * (`--daemon download.concurrentPieceCount=16,seedPeer.taskUploadLimit=4`), resolved as the
 * daemon resolves its own flags, so a run can show what a setting does to the swarm.
 */
import { resolveDaemonConfig, type DaemonConfig } from '../../src/daemon/config.js'

/** Settings by their path in the config file (`upload.concurrentLimit`), numbers only. */
export type DaemonSettings = Readonly<Record<string, number>>

/**
 * The config with `changed` over the defaults. Throws CONFIG_INVALID naming every unknown key and
 * every value the daemon would refuse, as dfdaemon does for its flags; or an error naming a path
 * given a value that also holds another (`upload` beside `upload.concurrentLimit`).
 */
export function daemonConfigWith(changed: DaemonSettings): DaemonConfig {
  const flags: Record<string, unknown> = {}
  for (const [path, value] of Object.entries(changed)) {
    const keys = path.split('.')
    const last = keys.pop() ?? ''
    let block = flags
    for (const [index, key] of keys.entries()) {
      const inner = (block[key] ??= {})
      if (!isRecord(inner)) throw new Error(`daemon setting ${keys.slice(0, index + 1).join('.')} is given a value and also holds ${path}`)
      block = inner
    }
    if (isRecord(block[last])) throw new Error(`daemon setting ${path} is given a value and also holds other settings`)
    block[last] = value
  }
  return resolveDaemonConfig({ flags })
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
