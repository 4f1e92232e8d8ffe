import { homedir } from 'node:os'
import { join } from 'node:path'

/** Default locations, in a module of their own so that dfget finds its daemon without loading config code. */
function underHome(...parts: string[]): string {
  return join(homedir(), '.damselfly', ...parts)
}

const isRoot = (): boolean => process.getuid?.() === 0

/** Where a daemon keeps its data when nobody says: a system path for root, the home directory otherwise. */
export function defaultDataDir(): string {
  return isRoot() ? '/var/lib/damselfly' : underHome('data')
}

/** The local API socket when nobody says; dfget uses the same rule to find its daemon. */
export function defaultSocketPath(): string {
  return isRoot() ? '/var/run/damselfly/dfdaemon.sock' : underHome('run', 'dfdaemon.sock')
}

/** Where a daemon started in the background by dfget writes its log. */
export function defaultLogDir(): string {
  return isRoot() ? '/var/log/damselfly' : underHome('logs')
}
