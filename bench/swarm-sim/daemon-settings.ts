/**
 * The simulated daemons' config: dfdaemon's defaults, or those with some numeric settings changed
 * (`--daemon download.concurrentPieceCount=16,seedPeer.taskUploadLimit=4`), checked by the
 * daemon's own schema, so a run can show what a setting does to the swarm.
 */
import { DAEMON_DEFAULTS, daemonConfigSchema, type DaemonConfig } from '../../src/daemon/config.js'

/** Settings by their path in the config file (`upload.concurrentLimit`), numbers only. */
export type DaemonSettings = Readonly<Record<string, number>>

/** The config with `changed` over the defaults; throws one error naming every path that does not exist or every value the schema refuses. */
export function daemonConfigWith(changed: DaemonSettings): DaemonConfig {
  const raw = structuredClone(DAEMON_DEFAULTS) as Record<string, unknown>
  const unknownPaths: string[] = []
  for (const [path, value] of Object.entries(changed)) {
    const keys = path.split('.')
    const last = keys.pop() ?? ''
    let block: unknown = raw
    for (const key of keys) block = isRecord(block) && Object.hasOwn(block, key) ? block[key] : undefined
    if (!isRecord(block) || !Object.hasOwn(block, last) || isRecord(block[last])) unknownPaths.push(path)
    else block[last] = value
  }
  if (unknownPaths.length > 0) throw new Error(`no such daemon setting: ${unknownPaths.join(', ')}`)
  const checked = daemonConfigSchema.safeParse(raw)
  if (!checked.success) throw new Error(checked.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; '))
  return checked.data
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
