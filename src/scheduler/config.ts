import { hostname } from 'node:os'
import { z } from 'zod'
import { resolveConfig, type ConfigSources } from '../common/config-resolver.js'
import { durationMs, intervalMs, port, timerMs } from '../common/config-schema.js'
import { LOG_LEVELS } from '../common/logger.js'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { defaultPkiDir } from '../security/cluster-pki.js'

/** Where a scheduler keeps the certificate a manager issued when nobody says. */
export function defaultSchedulerIdentityDir(): string {
  return process.getuid?.() === 0 ? '/var/lib/damselfly/scheduler/identity' : join(homedir(), '.damselfly', 'scheduler', 'identity')
}

/** Key names follow Dragonfly's scheduler where one exists. Durations are text (`500ms`, `1h`) or milliseconds. */
export const SCHEDULER_DEFAULTS = {
  server: { listenIP: '0.0.0.0', port: 8002, advertiseIP: '' },
  metrics: { port: 8000 },
  /** Who and where this scheduler is, for the manager (its key there is hostname and address); `location` is `country|province|city`. */
  host: { hostname: hostname(), idc: '', location: '' },
  manager: {
    /** `host:port` of the managers' gRPC; empty: the scheduler runs without a manager, with its own config. */
    addrs: [] as string[],
    /** The cluster to join; 0 lets the manager pick by the cluster scopes (the default cluster when none matches). */
    schedulerClusterID: 0,
    keepAlive: { interval: '5s' },
    /** How often the hosts this scheduler knows are reported to the manager (and soon after one joins or leaves). */
    hostReportInterval: '30s',
  },
  scheduler: {
    candidateParentLimit: 4,
    filterParentLimit: 15,
    retryBackToSourceLimit: 4,
    retryLimit: 5,
    retryInterval: '500ms',
    backToSourceCount: 200,
    /** How long a peer may register before its host has announced. */
    hostWaitTimeout: '2s',
    seedWaitTimeout: '30s',
    /** How long a capability to fetch a task's pieces lasts; a child gets a fresh one with its parents. */
    capabilityTTL: '1h',
    gc: { peerTTL: '24h', taskTTL: '30m', hostTTL: '1h', interval: '1m' },
  },
  security: {
    /** Runs without identities: any host may announce anything. For experiments only; never the default. */
    insecure: false,
    /** The cluster CA (ca.crt, ca.key) and its join tokens; created on first start when missing. Not used with an identityDir. */
    pkiDir: defaultPkiDir(),
    /**
     * A scheduler whose certificate a manager issued (ca.crt, host.crt, host.key): it holds no CA
     * and serves no joins, which the manager does. '' keeps the CA in pkiDir, unless manager.addrs
     * is set: then the identity is kept in the default identity directory.
     */
    identityDir: '',
    /** Gets the identity from a manager on a first start without one (`manager.addrs`). */
    joinToken: '',
  },
  log: { level: 'info' },
}

const count = (min: number): z.ZodNumber => z.number().int().min(min)

/** The `scheduler` block: what the scheduler decides with, durations in milliseconds once parsed. */
export const schedulerSettingsSchema = z
  .object({
    candidateParentLimit: count(1).max(20),
    filterParentLimit: count(1).max(1000),
    retryBackToSourceLimit: count(0),
    retryLimit: count(1),
    retryInterval: timerMs(),
    backToSourceCount: count(0),
    hostWaitTimeout: timerMs(),
    seedWaitTimeout: durationMs(),
    capabilityTTL: timerMs(),
    gc: z.object({ peerTTL: durationMs(), taskTTL: durationMs(), hostTTL: durationMs(), interval: timerMs() }),
  })
  .refine((s) => s.gc.interval > 0, { message: 'must be more than 0', path: ['gc', 'interval'] })
  .refine((s) => s.retryInterval > 0, { message: 'must be more than 0', path: ['retryInterval'] })
  .refine((s) => s.capabilityTTL >= 60_000, { message: 'must be at least 1m', path: ['capabilityTTL'] })

export type SchedulerSettings = z.output<typeof schedulerSettingsSchema>

/** The `scheduler` block's defaults, parsed: for a scheduler built without a config file (a simulator, a bench). */
export const DEFAULT_SCHEDULER_SETTINGS: Readonly<SchedulerSettings> = Object.freeze(schedulerSettingsSchema.parse(SCHEDULER_DEFAULTS.scheduler))

export const schedulerConfigSchema = z
  .object({
    server: z.object({ listenIP: z.string().min(1), port: port(), advertiseIP: z.string() }),
    metrics: z.object({ port: port() }),
    host: z.object({ hostname: z.string().min(1).max(255), idc: z.string().max(255), location: z.string().max(255) }),
    manager: z.object({
      addrs: z.array(z.string().regex(/^[^\s:]+:\d{1,5}$/, 'must be host:port')),
      schedulerClusterID: count(0),
      keepAlive: z.object({ interval: intervalMs() }),
      hostReportInterval: intervalMs(),
    }),
    scheduler: schedulerSettingsSchema,
    security: z.object({ insecure: z.boolean(), pkiDir: z.string().min(1), identityDir: z.string(), joinToken: z.string() }),
    log: z.object({ level: z.enum(LOG_LEVELS) }),
  })

export type SchedulerConfig = z.output<typeof schedulerConfigSchema>

/** Defaults < YAML file < `SCHEDULER_*` environment < flags, frozen; throws CONFIG_INVALID listing every problem. */
export function resolveSchedulerConfig(sources: ConfigSources): SchedulerConfig {
  return resolveConfig(schedulerConfigSchema, SCHEDULER_DEFAULTS, 'SCHEDULER', sources)
}
