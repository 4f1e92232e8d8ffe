import { Command, Option } from 'commander'
import { unknownEnvNames } from '../common/config-resolver.js'
import { createLogger, LOG_LEVELS, type LogLevel } from '../common/logger.js'
import { VERSION } from '../common/version.js'
import { MANAGER_DEFAULTS, resolveManagerConfig, type ManagerConfig } from '../manager/config.js'
import { fail } from './exit.js'
import { runUntilSignal } from './run-until-signal.js'

interface ManagerFlags {
  config?: string
  port?: string
  grpcPort?: string
  listenIp?: string
  dataDir?: string
  databaseUrl?: string
  redisUrl?: string
  logLevel?: LogLevel
}

function toInteger(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined
  const number = Number(value)
  if (!Number.isInteger(number)) throw new Error(`${flag} must be an integer, got ${JSON.stringify(value)}`)
  return number
}

/** Flags become a partial config tree, the last and strongest layer of the config. */
function flagTree(flags: ManagerFlags): Record<string, unknown> {
  return {
    server: {
      rest: { port: toInteger('--port', flags.port), listenIP: flags.listenIp },
      grpc: { port: toInteger('--grpc-port', flags.grpcPort), listenIP: flags.listenIp },
      dataDir: flags.dataDir,
    },
    database: { url: flags.databaseUrl },
    jobQueue: { redis: { url: flags.redisUrl } },
    log: { level: flags.logLevel },
  }
}

/** Runs a manager in the foreground until SIGINT or SIGTERM. */
export async function runManager(config: ManagerConfig, env: Readonly<Record<string, string | undefined>> = {}): Promise<void> {
  const logger = createLogger({ level: config.log.level, name: 'manager' })
  const unknown = unknownEnvNames(MANAGER_DEFAULTS, 'MANAGER', env)
  if (unknown.length > 0) logger.warn({ variables: unknown }, 'environment variables that name no config key are ignored')
  // Loaded here, so that `damselfly <another command>` does not load the manager, its web server and database drivers.
  const { Manager } = await import('../manager/manager.js')
  await runUntilSignal(new Manager(config, { logger }), logger)
}

export function managerCommand(): Command {
  return new Command('manager')
    .description('run the manager: clusters, registration and discovery of schedulers and seed peers, users, roles and tokens')
    .version(VERSION)
    .option('-c, --config <path>', 'YAML config file (see docs/configuration.md)')
    .option('--port <port>', 'REST, Open API, /healthy and /metrics port (server.rest.port, default 8080)')
    .option('--grpc-port <port>', 'gRPC port for schedulers, seed peers and daemons (server.grpc.port, default 65003)')
    .option('--listen-ip <ip>', 'address to listen on (server.rest.listenIP and server.grpc.listenIP, default 0.0.0.0)')
    .option('--data-dir <path>', 'where the SQLite database and the manager\'s files live (server.dataDir)')
    .option('--database-url <url>', 'postgres://... or mysql://... instead of SQLite (database.url)')
    .option('--redis-url <url>', 'redis://[:password@]host:port[/db] where managers share their job queue (jobQueue.redis.url)')
    .addOption(new Option('--log-level <level>', 'log level (log.level)').choices(LOG_LEVELS))
    .action(async (flags: ManagerFlags) => {
      try {
        const config = resolveManagerConfig({ file: flags.config, env: process.env, flags: flagTree(flags) })
        await runManager(config, process.env)
      } catch (error) {
        fail('manager', error)
      }
    })
}
