import { Command, Option } from 'commander'
import { createLogger, LOG_LEVELS, type LogLevel } from '../common/logger.js'
import { VERSION } from '../common/version.js'
import { unknownEnvNames } from '../common/config-resolver.js'
import { resolveSchedulerConfig, SCHEDULER_DEFAULTS, type SchedulerConfig } from '../scheduler/config.js'
import { fail } from './exit.js'
import { runUntilSignal } from './run-until-signal.js'

interface SchedulerFlags {
  config?: string
  port?: string
  metricsPort?: string
  listenIp?: string
  logLevel?: LogLevel
  pkiDir?: string
  identityDir?: string
  joinToken?: string
  insecure?: boolean
  manager?: string
  clusterId?: string
}

function toInteger(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined
  const number = Number(value)
  if (!Number.isInteger(number)) throw new Error(`${flag} must be an integer, got ${JSON.stringify(value)}`)
  return number
}

/** Flags become a partial config tree, the last and strongest layer of the config. */
function flagTree(flags: SchedulerFlags): Record<string, unknown> {
  return {
    server: { port: toInteger('--port', flags.port), listenIP: flags.listenIp },
    metrics: { port: toInteger('--metrics-port', flags.metricsPort) },
    log: { level: flags.logLevel },
    security: { pkiDir: flags.pkiDir, identityDir: flags.identityDir, joinToken: flags.joinToken, insecure: flags.insecure },
    manager: {
      addrs: flags.manager?.split(',').map((addr) => addr.trim()).filter((addr) => addr !== ''),
      schedulerClusterID: toInteger('--cluster-id', flags.clusterId),
    },
  }
}

/** Runs a scheduler in the foreground until SIGINT or SIGTERM. */
export async function runScheduler(config: SchedulerConfig, env: Readonly<Record<string, string | undefined>> = {}): Promise<void> {
  const logger = createLogger({ level: config.log.level, name: 'scheduler' })
  const unknown = unknownEnvNames(SCHEDULER_DEFAULTS, 'SCHEDULER', env)
  if (unknown.length > 0) logger.warn({ variables: unknown }, 'environment variables that name no config key are ignored')
  // Loaded here, so that `damselfly <another command>` does not load the scheduler.
  const { Scheduler } = await import('../scheduler/scheduler.js')
  const scheduler = new Scheduler(config, { logger })
  await runUntilSignal(scheduler, logger)
}

export function schedulerCommand(name = 'scheduler'): Command {
  return new Command(name)
    .description('run the scheduler: picks parents for peers, sends peers back to source, triggers seed peers')
    .version(VERSION)
    .option('-c, --config <path>', 'YAML config file (see docs/configuration.md)')
    .option('--port <port>', 'gRPC port (server.port, default 8002)')
    .option('--metrics-port <port>', 'port of /metrics and /healthy (metrics.port, default 8000)')
    .option('--listen-ip <ip>', 'address to listen on (server.listenIP, default 0.0.0.0)')
    .addOption(new Option('--log-level <level>', 'log level (log.level)').choices(LOG_LEVELS))
    .option('--pki-dir <path>', 'the cluster CA and its join tokens, created on first start (security.pkiDir)')
    .option('--identity-dir <path>', 'a scheduler certificate a manager issued, instead of holding the CA (security.identityDir)')
    .option('--join-token <token>', 'with --manager: get the scheduler certificate from the manager on a first start (security.joinToken)')
    .option('--manager <addrs>', 'comma-separated gRPC addresses host:port of the managers to register with (manager.addrs)')
    .option('--cluster-id <id>', 'the cluster to join; 0 lets the manager pick by scopes (manager.schedulerClusterID)')
    .option('--insecure', 'run without identities: no TLS, anyone may announce anything (security.insecure; experiments only)')
    .action(async (flags: SchedulerFlags) => {
      try {
        const config = resolveSchedulerConfig({ file: flags.config, env: process.env, flags: flagTree(flags) })
        await runScheduler(config, process.env)
      } catch (error) {
        fail(name, error)
      }
    })
}
