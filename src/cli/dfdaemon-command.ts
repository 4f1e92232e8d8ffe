import { Command, Option } from 'commander'
import { createLogger, LOG_LEVELS, type LogLevel } from '../common/logger.js'
import { VERSION } from '../common/version.js'
import { unknownEnvNames } from '../common/config-resolver.js'
import { DAEMON_DEFAULTS, resolveDaemonConfig, type DaemonConfig } from '../daemon/config.js'
import { fail } from './exit.js'
import { runUntilSignal } from './run-until-signal.js'

interface DaemonFlags {
  config?: string
  dataDir?: string
  socket?: string
  uploadPort?: string
  proxyPort?: string
  metricsPort?: string
  scheduler?: string
  manager?: string
  seed?: boolean
  hostIp?: string
  registryMirror?: string
  logLevel?: LogLevel
  identityDir?: string
  joinToken?: string
  insecure?: boolean
}

function toInteger(flag: string) {
  return (value: string): number => {
    const number = Number(value)
    if (!Number.isInteger(number)) throw new Error(`${flag} must be an integer, got ${JSON.stringify(value)}`)
    return number
  }
}

/** Flags become a partial config tree, the last and strongest layer of the config. */
function flagTree(flags: DaemonFlags): Record<string, unknown> {
  return {
    storage: { dir: flags.dataDir },
    download: { server: { socketPath: flags.socket } },
    upload: { server: { port: flags.uploadPort === undefined ? undefined : toInteger('--upload-port')(flags.uploadPort) } },
    metrics: { server: { port: flags.metricsPort === undefined ? undefined : toInteger('--metrics-port')(flags.metricsPort) } },
    proxy: {
      server: { port: flags.proxyPort === undefined ? undefined : toInteger('--proxy-port')(flags.proxyPort) },
      registryMirror: { addr: flags.registryMirror },
    },
    scheduler: { addrs: flags.scheduler?.split(',').map((addr) => addr.trim()).filter((addr) => addr !== '') },
    manager: { addrs: flags.manager?.split(',').map((addr) => addr.trim()).filter((addr) => addr !== '') },
    seedPeer: { enable: flags.seed },
    host: { ip: flags.hostIp },
    log: { level: flags.logLevel },
    security: { identityDir: flags.identityDir, joinToken: flags.joinToken, insecure: flags.insecure },
  }
}

/** Runs a daemon in the foreground until SIGINT or SIGTERM. */
export async function runDaemon(config: DaemonConfig, env: Readonly<Record<string, string | undefined>> = {}): Promise<void> {
  const logger = createLogger({ level: config.log.level, name: 'dfdaemon' })
  const unknown = unknownEnvNames(DAEMON_DEFAULTS, 'DFDAEMON', env)
  if (unknown.length > 0) logger.warn({ variables: unknown }, 'environment variables that name no config key are ignored')
  // Loaded here, so that `damselfly <another command>` does not load the daemon.
  const { Daemon } = await import('../daemon/daemon.js')
  const daemon = await Daemon.create(config, { logger })
  await runUntilSignal(daemon, logger)
}

export function daemonCommand(name: string): Command {
  return new Command(name)
    .description('run the per-node daemon: downloads, caches and shares content; serves dfget')
    .version(VERSION)
    .option('-c, --config <path>', 'YAML config file (see docs/configuration.md)')
    .option('--data-dir <path>', 'where tasks are stored (storage.dir)')
    .option('--socket <path>', 'unix socket of the local API (download.server.socketPath)')
    .option('--upload-port <port>', 'port of the piece upload server (upload.server.port, default 65002)')
    .option('--proxy-port <port>', 'port of the registry mirror and proxy (proxy.server.port, default 65001)')
    .option('--metrics-port <port>', 'port of /metrics and /healthy (metrics.server.port, default 4002)')
    .option('--registry-mirror <url>', 'default upstream registry of the mirror (proxy.registryMirror.addr)')
    .option('--scheduler <addrs>', 'comma-separated scheduler addresses host:port (scheduler.addrs)')
    .option('--manager <addrs>', 'comma-separated manager gRPC addresses host:port: schedulers come from there, and a seed peer registers there (manager.addrs)')
    .option('--seed', 'run as a seed peer (seedPeer.enable)')
    .option('--host-ip <ip>', 'the address peers reach this host at (host.ip)')
    .addOption(new Option('--log-level <level>', 'log level (log.level)').choices(LOG_LEVELS))
    .option('--identity-dir <path>', 'this host\'s identity: ca.crt, host.crt, host.key (security.identityDir)')
    .option('--join-token <token>', 'join the cluster on a first start without an identity (security.joinToken)')
    .option('--insecure', 'run without an identity: no TLS, no capabilities (security.insecure; experiments only)')
    .action(async (flags: DaemonFlags) => {
      try {
        const config = resolveDaemonConfig({ file: flags.config, env: process.env, flags: flagTree(flags) })
        await runDaemon(config, process.env)
      } catch (error) {
        fail(name, error)
      }
    })
}
