import { hostname } from 'node:os'
import { isAbsolute } from 'node:path'
import { z } from 'zod'
import { resolveConfig, type ConfigSources } from '../common/config-resolver.js'
import { bytes, durationMs, intervalMs, port, timerMs } from '../common/config-schema.js'
import { LOG_LEVELS } from '../common/logger.js'
import { DEFAULT_FILTERED_QUERY_PARAMS } from '../protocol/task-id.js'
import { cidrListSchema, DEFAULT_SOURCE_DENY } from '../source/address-policy.js'
import { defaultDataDir, defaultLogDir, defaultSocketPath } from './paths.js'

const UNLIMITED = 0

/** Key names follow Dragonfly's dfdaemon where one exists. Sizes and rates are bytes (per second). */
export const DAEMON_DEFAULTS = {
  host: { ip: '', hostname: hostname(), idc: '', location: '' },
  log: { level: 'info', dir: defaultLogDir() },
  storage: { dir: defaultDataDir(), reservedSpace: '1GiB' },
  download: {
    server: { socketPath: defaultSocketPath(), socketMode: '0660' },
    rateLimit: UNLIMITED,
    concurrentPieceCount: 8,
    pieceTimeout: '30s',
  },
  source: {
    rateLimit: UNLIMITED,
    connectTimeout: '10s',
    headerTimeout: '30s',
    caCert: '',
    insecureSkipVerify: false,
    retryCount: 3,
    /** Ranged requests to origins at once, all downloads of the host together (each also at most `download.concurrentPieceCount`). */
    concurrentLimit: 8,
    filteredQueryParams: [...DEFAULT_FILTERED_QUERY_PARAMS],
  },
  upload: {
    /** `tls: false` sends pieces in the clear (requests still signed): only for a network you trust. */
    server: { ip: '0.0.0.0', port: 65002, tls: true },
    rateLimit: UNLIMITED,
    /** The host's uplink, bytes per second, as it tells the scheduler; 0 reads the interface's speed. */
    capacity: 0,
    disableShared: false,
    concurrentLimit: 50,
  },
  metrics: { server: { ip: '0.0.0.0', port: 4002 } },
  proxy: {
    server: { ip: '0.0.0.0', port: 65001 },
    /** HTTP requests the mirror serves at once; beyond it PROXY_BUSY (503). */
    maxConcurrency: 1000,
    registryMirror: {
      addr: 'https://index.docker.io',
      allowedRegistries: [] as string[],
      /** Clients on this host's loopback (its own runtimes) may name any registry, as with Dragonfly. */
      anyRegistryFromLoopback: true,
      checkAccess: true,
      accessCacheTTL: '60s',
    },
    rules: [{ regex: 'blobs/sha256.*' }],
    hijackHTTPS: { cert: '', key: '', hosts: [] as string[] },
  },
  scheduler: {
    addrs: [] as string[],
    announceInterval: '5s',
    /** A scheduler that has not taken a registration by then is passed over, and avoided until its connection is back. */
    registerTimeout: '5s',
    /** After the registration was taken: how long its decision may take before the download goes back to source. */
    scheduleTimeout: '60s',
  },
  manager: {
    /**
     * `host:port` of the managers' gRPC. Set: the schedulers come from the manager (`scheduler.addrs`,
     * if also set, only until the first answer), and a seed peer registers there.
     */
    addrs: [] as string[],
    /** How often the daemon asks the manager which schedulers serve it. */
    refreshInterval: '10s',
    seedPeer: {
      /** Dragonfly's seed peer type: `super`, `strong` or `weak`. */
      type: 'super',
      /** The cluster a seed peer joins; 0 lets the manager pick by the cluster scopes. */
      clusterID: 0,
      keepAlive: { interval: '5s' },
    },
  },
  security: {
    /** Runs without an identity: no TLS, no capabilities. For experiments only; never the default. */
    insecure: false,
    /** This host's identity (ca.crt, host.crt, host.key); empty means `<storage.dir>/identity`. */
    identityDir: '',
    /** A join token (`damselfly pki token create`): used once, on a start that finds no identity. */
    joinToken: '',
  },
  seedPeer: {
    enable: false,
    taskUploadLimit: 8,
    /** Addresses a seed peer may not fetch from for other hosts (seed tasks); its own clients are not restricted. */
    sourcePolicy: { deny: [...DEFAULT_SOURCE_DENY] as string[], allow: [] as string[] },
  },
  gc: { interval: '900s', policy: { taskTTL: '6h', distHighThresholdPercent: 80, distLowThresholdPercent: 60, quota: UNLIMITED } },
  distribution: {
    /**
     * The directory a manager's download may write its content under (`output_path`, relative to
     * it); empty turns writing to paths off, and such downloads fail with OUTPUT_INVALID.
     */
    outputDir: '',
  },
}

const percent = (): z.ZodNumber => z.number().min(0).max(100)

const cidrs = cidrListSchema

export const daemonConfigSchema = z
  .object({
    host: z.object({ ip: z.string(), hostname: z.string().min(1), idc: z.string(), location: z.string() }),
    log: z.object({ level: z.enum(LOG_LEVELS), dir: z.string().min(1) }),
    storage: z.object({ dir: z.string().min(1), reservedSpace: bytes() }),
    download: z.object({
      server: z.object({
        socketPath: z.string().min(1),
        socketMode: z.string().regex(/^0?[0-7]{3}$/, 'must be an octal file mode such as 0660').transform((mode) => parseInt(mode, 8)),
      }),
      rateLimit: bytes(),
      concurrentPieceCount: z.number().int().min(1).max(64),
      pieceTimeout: timerMs(),
    }),
    source: z.object({
      rateLimit: bytes(),
      connectTimeout: timerMs(),
      headerTimeout: timerMs(),
      caCert: z.string(),
      insecureSkipVerify: z.boolean(),
      retryCount: z.number().int().min(0).max(10),
      concurrentLimit: z.number().int().min(1).max(1_000),
      filteredQueryParams: z.array(z.string()),
    }),
    upload: z.object({
      server: z.object({ ip: z.string(), port: port(), tls: z.boolean() }),
      rateLimit: bytes(),
      capacity: bytes(),
      disableShared: z.boolean(),
      concurrentLimit: z.number().int().min(1).max(10_000),
    }),
    metrics: z.object({ server: z.object({ ip: z.string().min(1), port: port() }) }),
    proxy: z.object({
      server: z.object({ ip: z.string(), port: port() }),
      maxConcurrency: z.number().int().min(1).max(100_000),
      registryMirror: z.object({
        addr: z.url(),
        allowedRegistries: z.array(z.string().regex(/^[^\s/]+$/, 'must be host or host:port')),
        anyRegistryFromLoopback: z.boolean(),
        checkAccess: z.boolean(),
        accessCacheTTL: durationMs(),
      }),
      rules: z.array(z.object({ regex: z.string().refine((text) => {
        try {
          new RegExp(text)
          return true
        } catch {
          return false
        }
      }, 'must be a valid regular expression') })),
      hijackHTTPS: z.object({ cert: z.string(), key: z.string(), hosts: z.array(z.string()) }),
    }),
    scheduler: z.object({
      addrs: z.array(z.string().regex(/^[^\s:]+:\d{1,5}$/, 'must be host:port')),
      announceInterval: intervalMs(),
      registerTimeout: timerMs().refine((ms) => ms > 0, 'must be more than 0'),
      scheduleTimeout: timerMs().refine((ms) => ms > 0, 'must be more than 0'),
    }),
    manager: z.object({
      addrs: z.array(z.string().regex(/^[^\s:]+:\d{1,5}$/, 'must be host:port')),
      refreshInterval: intervalMs(),
      seedPeer: z.object({
        type: z.enum(['super', 'strong', 'weak']),
        clusterID: z.number().int().min(0),
        keepAlive: z.object({ interval: intervalMs() }),
      }),
    }),
    security: z.object({ insecure: z.boolean(), identityDir: z.string(), joinToken: z.string() }),
    seedPeer: z.object({
      enable: z.boolean(),
      taskUploadLimit: z.number().int().min(1).max(1000),
      sourcePolicy: z.object({ deny: cidrs(), allow: cidrs() }),
    }),
    gc: z.object({
      interval: intervalMs(),
      policy: z.object({
        // The garbage collector refuses a TTL of 0.
        taskTTL: durationMs().refine((ms) => ms > 0, 'must be more than 0'),
        distHighThresholdPercent: percent(),
        distLowThresholdPercent: percent(),
        quota: bytes(),
      }),
    }),
    distribution: z.object({
      outputDir: z.string().refine((dir) => dir === '' || isAbsolute(dir), 'must be an absolute path, or empty to turn writing to paths off'),
    }),
  })
  .refine((c) => c.proxy.hijackHTTPS.hosts.length === 0 || (c.proxy.hijackHTTPS.cert !== '' && c.proxy.hijackHTTPS.key !== ''), {
    message: 'intercepting hosts needs the CA: set cert and key (damselfly ca create makes them)',
    path: ['proxy', 'hijackHTTPS'],
  })
  .refine((c) => c.gc.policy.distLowThresholdPercent <= c.gc.policy.distHighThresholdPercent, {
    message: 'distLowThresholdPercent must not exceed distHighThresholdPercent',
    path: ['gc', 'policy'],
  })

export type DaemonConfig = z.output<typeof daemonConfigSchema>

/** Defaults < YAML file < `DFDAEMON_*` environment < flags, frozen; throws CONFIG_INVALID listing every problem. */
export function resolveDaemonConfig(sources: ConfigSources): DaemonConfig {
  return resolveConfig(daemonConfigSchema, DAEMON_DEFAULTS, 'DFDAEMON', sources)
}
