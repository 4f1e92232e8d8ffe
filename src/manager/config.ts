import { homedir } from 'node:os'
import { join } from 'node:path'
import { z } from 'zod'
import { resolveConfig, type ConfigSources } from '../common/config-resolver.js'
import { durationMs, intervalMs, port, timerMs } from '../common/config-schema.js'
import { LOG_LEVELS } from '../common/logger.js'
import { isDamselflyError } from '../protocol/damselfly-error.js'
import { cidrListSchema, DEFAULT_SOURCE_DENY } from '../source/address-policy.js'
import { parseRedisUrl } from './jobs/redis-url.js'

/** The manager's data when nobody says: beside the other components' for root, under the home directory otherwise. */
export function defaultManagerDataDir(): string {
  return process.getuid?.() === 0 ? '/var/lib/damselfly/manager' : join(homedir(), '.damselfly', 'manager')
}

/** Key names follow Dragonfly's manager where one exists. Durations are text (`5s`, `24h`) or milliseconds. */
export const MANAGER_DEFAULTS = {
  server: {
    /** REST, the Open API, the console, `/healthy` and `/metrics`. */
    rest: { listenIP: '0.0.0.0', port: 8080 },
    /** Registration, keepalive and discovery for schedulers, seed peers and daemons. */
    grpc: { listenIP: '0.0.0.0', port: 65003, advertiseIP: '' },
    /** SQLite's file (when `database.url` is empty) and anything else the manager keeps locally. */
    dataDir: defaultManagerDataDir(),
  },
  database: {
    /** '' is SQLite in `server.dataDir`; else `postgres://user:pass@host:5432/db` or `mysql://user:pass@host:3306/db`. */
    url: '',
  },
  auth: {
    /** The first `root` password; '' means `DAMSELFLY_ROOT_PASSWORD`, else a random one printed once. */
    rootPassword: '',
    /** How long a console session lasts. */
    sessionTTL: '24h',
  },
  keepalive: {
    /** How often schedulers and seed peers say they are alive. */
    interval: '5s',
    /** A member silent this long is inactive and drops out of discovery. */
    timeout: '30s',
  },
  security: {
    /** Runs without identities: no TLS on gRPC, anyone may register anything. For experiments only. */
    insecure: false,
    /** A scheduler's PKI directory whose CA the manager adopts on its first start, so hosts already certified stay valid; '' makes a new CA. */
    importPkiDir: '',
    /** How long a certificate the manager issues lasts; hosts renew theirs after two thirds of it. */
    certificateValidity: '720h',
  },
  jobQueue: {
    /** The most jobs (preheat, distribution, ...) this manager runs at once. */
    concurrency: 8,
    redis: {
      /** '' runs jobs in this manager alone; `redis://[:password@]host:port[/db]` shares them with every manager on that Redis. */
      url: '',
      /** Namespaces the queue's keys in Redis; the managers that share jobs share it. */
      prefix: 'damselfly',
      /** How long a job stays locked to the manager running it without a renewal: about how long a dead manager's jobs wait to be taken over. */
      lockDuration: '30s',
    },
  },
  preheat: {
    /**
     * Addresses the manager refuses to reach when it resolves an image for a job: any user with
     * `job` write names the registry, so without this they could make the manager probe its own
     * loopback or the cloud metadata service. `allow` lets ranges of `deny` through again.
     */
    sourcePolicy: { deny: [...DEFAULT_SOURCE_DENY] as string[], allow: [] as string[] },
  },
  console: {
    /** The built console's files; '' is the console built with this package (`dist/console`). */
    dir: '',
  },
  log: { level: 'info' },
}

/** A Redis URL, or '' for none; refused with its password masked. */
const redisUrl = () => z.string().superRefine((url, ctx) => {
  if (url === '') return
  try {
    parseRedisUrl(url)
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: isDamselflyError(error) ? error.message : 'invalid Redis URL' })
  }
})

export const managerConfigSchema = z.object({
  server: z.object({
    rest: z.object({ listenIP: z.string().min(1), port: port() }),
    grpc: z.object({ listenIP: z.string().min(1), port: port(), advertiseIP: z.string() }),
    dataDir: z.string().min(1),
  }),
  database: z.object({ url: z.string() }),
  auth: z.object({ rootPassword: z.string(), sessionTTL: intervalMs() }),
  keepalive: z.object({ interval: intervalMs(), timeout: timerMs() }),
  security: z.object({ insecure: z.boolean(), importPkiDir: z.string(), certificateValidity: durationMs().refine((ms) => ms >= 10_000, 'must be at least 10s') }),
  jobQueue: z.object({
    concurrency: z.number().int().min(1).max(1000),
    redis: z.object({
      url: redisUrl(),
      prefix: z.string().min(1).refine((prefix) => !/[\s*?[\]]/.test(prefix), 'must hold no spaces or glob characters'),
      lockDuration: intervalMs().refine((ms) => ms >= 1_000, 'must be at least 1s'),
    }),
  }),
  preheat: z.object({ sourcePolicy: z.object({ deny: cidrListSchema(), allow: cidrListSchema() }) }),
  console: z.object({ dir: z.string() }),
  log: z.object({ level: z.enum(LOG_LEVELS) }),
}).refine((c) => c.keepalive.timeout > 2 * c.keepalive.interval, { message: 'must be more than twice keepalive.interval', path: ['keepalive', 'timeout'] })

export type ManagerConfig = z.output<typeof managerConfigSchema>

/** Defaults < YAML file < `MANAGER_*` environment < flags, frozen; throws CONFIG_INVALID listing every problem. */
export function resolveManagerConfig(sources: ConfigSources): ManagerConfig {
  return resolveConfig(managerConfigSchema, MANAGER_DEFAULTS, 'MANAGER', sources)
}
