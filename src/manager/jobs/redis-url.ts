/**
 * The manager's Redis address, `redis://[[user]:password@]host[:port][/db]` (`rediss://` for TLS),
 * as the connection options ioredis takes. Parsed here rather than by ioredis, which lets an
 * option given beside a URL (BullMQ always passes a host and port) win over the URL's own.
 */
import { DamselflyError } from '../../protocol/damselfly-error.js'
import { maskPassword } from '../db/database.js'

export interface RedisConnectionOptions {
  readonly host: string
  readonly port: number
  readonly db: number
  readonly username?: string
  readonly password?: string
  /** Present for `rediss://`: TLS with the system's CAs. */
  readonly tls?: Readonly<Record<string, never>>
}

const DEFAULT_REDIS_PORT = 6379

/** Throws CONFIG_INVALID, naming the URL with its password masked, when `url` is not a Redis URL. */
export function parseRedisUrl(url: string): RedisConnectionOptions {
  const invalid = (why: string): DamselflyError =>
    new DamselflyError('CONFIG_INVALID', `Redis URL ${JSON.stringify(maskPassword(url))}: ${why}`)
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw invalid('not a URL, expected redis://[:password@]host:port[/db]')
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') throw invalid('must start with redis:// or rediss://')
  if (parsed.hostname === '') throw invalid('names no host')
  const dbText = parsed.pathname.replace(/^\//, '')
  const db = dbText === '' ? 0 : Number(dbText)
  if (!Number.isInteger(db) || db < 0) throw invalid('the path must be a database number, such as /0')
  const username = decodeURIComponent(parsed.username)
  const password = decodeURIComponent(parsed.password)
  return {
    // URL keeps the brackets of an IPv6 address; sockets want it bare.
    host: parsed.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: parsed.port === '' ? DEFAULT_REDIS_PORT : Number(parsed.port),
    db,
    ...(username === '' ? {} : { username }),
    ...(password === '' ? {} : { password }),
    ...(parsed.protocol === 'rediss:' ? { tls: {} } : {}),
  }
}
