import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { Command } from 'commander'
import { pino } from 'pino'
import { createLogger, type Logger } from '../common/logger.js'
import type { Startable } from '../common/startable.js'
import { resolveDaemonConfig, type DaemonConfig } from '../daemon/config.js'
import { identityDirOf } from '../daemon/host-identity.js'
import { defaultDataDir, defaultSocketPath } from '../daemon/paths.js'
import { advertisedIp } from '../daemon/scheduler-client/host-info.js'
import { resolveSchedulerConfig } from '../scheduler/config.js'
import { resolveManagerConfig } from '../manager/config.js'
import { certificateAddresses, certificateHostname, type Role } from '../security/identity.js'
import { issueLocalIdentity, readIdentity, writeIdentity } from '../security/local-identity.js'
import type { CaSigner } from '../security/x509.js'
import { fail } from './exit.js'

/** The ranges the seed of `damselfly up` may fetch from for the daemon beside it. */
const LOOPBACK_RANGES = ['127.0.0.0/8', '::1/128'] as const

interface UpFlags {
  config?: string
  dataDir?: string
  schedulerPort: string
  managerPort: string
  managerGrpcPort: string
  insecure?: boolean
}

function port(flag: string, value: string): number {
  const number = Number(value)
  if (!Number.isInteger(number) || number < 0 || number > 65535) throw new Error(`${flag} must be a port number, got ${JSON.stringify(value)}`)
  return number
}

/**
 * Gives a part of `damselfly up` its identity from the cluster CA the manager holds: the one it
 * has when it still fits (role, addresses, CA), a new one otherwise. Nothing for anyone to type.
 */
async function ensureIdentity(ca: CaSigner, dir: string, request: { role: Role; hostname: string; ips: readonly string[] }): Promise<void> {
  const existing = await readIdentity(dir).catch(() => undefined)
  const fits = existing !== undefined && existing.identity.role === request.role && request.ips.every((ip) => existing.identity.ips.includes(ip))
  if (fits && existing.caPem.trim() === ca.certPem.trim()) return
  await writeIdentity(dir, await issueLocalIdentity(ca, request))
}

async function ensureHostIdentity(ca: CaSigner, config: DaemonConfig, role: Role): Promise<void> {
  const ip = advertisedIp(config.host.ip, config.upload.server.ip)
  await ensureIdentity(ca, identityDirOf(config), { role, hostname: certificateHostname(config.host.hostname, 'host'), ips: [ip] })
}

function fileLogger(dir: string, name: string, level: 'info'): Logger {
  return createLogger({ level, name, destination: pino.destination({ dest: join(dir, `${name}.log`), mkdir: true, sync: false }) })
}

/**
 * `damselfly up`: a whole Damselfly on one machine in this one process, with embedded defaults:
 * a manager on SQLite, a scheduler and a seed peer registered with it, and a daemon that asks it
 * for its schedulers. Data lives under one directory, logs go to files there,
 * and the terminal says how to use it. Ctrl-C stops everything, the daemon first.
 */
export function upCommand(): Command {
  return new Command('up')
    .description('start a local Damselfly (manager, scheduler, seed peer and daemon) in the foreground')
    .option('-c, --config <path>', 'dfdaemon YAML config file for the daemon')
    .option('--data-dir <path>', 'where everything is stored', defaultDataDir())
    .option('--scheduler-port <port>', 'gRPC port of the scheduler', '8002')
    .option('--manager-port <port>', 'REST and Open API port of the manager', '8080')
    .option('--manager-grpc-port <port>', 'gRPC port of the manager', '65003')
    .option('--insecure', 'run without identities: no TLS, no capabilities (experiments only)')
    .action(async (flags: UpFlags) => {
      const started: Startable[] = []
      try {
        const root = flags.dataDir ?? defaultDataDir()
        const logDir = join(root, 'logs')
        mkdirSync(logDir, { recursive: true })
        const insecure = flags.insecure === true
        // Loaded here, so that `damselfly <another command>` loads none of them.
        const [{ Manager }, { Scheduler }, { Daemon }] = await Promise.all([import('../manager/manager.js'), import('../scheduler/scheduler.js'), import('../daemon/daemon.js')])
        // The manager first: it holds the cluster CA (adopting the one an earlier `up` made in
        // <data-dir>/pki), and everything else registers with it or asks it for the schedulers.
        const manager = new Manager(resolveManagerConfig({
          env: process.env,
          flags: {
            server: {
              rest: { listenIP: '127.0.0.1', port: port('--manager-port', flags.managerPort) },
              grpc: { listenIP: '127.0.0.1', port: port('--manager-grpc-port', flags.managerGrpcPort) },
              dataDir: join(root, 'manager'),
            },
            security: { insecure, importPkiDir: join(root, 'pki') },
          },
        }), { logger: fileLogger(logDir, 'manager', 'info') })
        await manager.start()
        started.push(manager)
        const managerAddrs = [manager.grpcAddressBound ?? '']
        const schedulerIdentityDir = join(root, 'scheduler', 'identity')
        const schedulerConfig = resolveSchedulerConfig({
          env: process.env,
          flags: {
            server: { listenIP: '127.0.0.1', port: port('--scheduler-port', flags.schedulerPort) },
            metrics: { port: 0 },
            manager: { addrs: managerAddrs },
            security: { pkiDir: join(root, 'pki'), identityDir: schedulerIdentityDir, insecure },
          },
        })
        if (!insecure) await ensureIdentity(manager.clusterCa.signer, schedulerIdentityDir, { role: 'scheduler', hostname: 'scheduler', ips: certificateAddresses(schedulerConfig.server) })
        const scheduler = new Scheduler(schedulerConfig, { logger: fileLogger(logDir, 'scheduler', 'info') })
        await scheduler.start()
        started.push(scheduler)
        // Everything runs on this machine, with the scheduler on 127.0.0.1 only: the seed fetches
        // from this host's loopback origins for the daemon beside it. Metadata stays refused.
        const seedConfig = resolveDaemonConfig({
          env: process.env,
          flags: {
            storage: { dir: join(root, 'seed') },
            download: { server: { socketPath: join(root, 'seed', 'dfdaemon.sock') } },
            upload: { server: { ip: '127.0.0.1', port: 0 } },
            // The seed serves peers, not container runtimes: its mirror only needs some free port.
            proxy: { server: { ip: '127.0.0.1', port: 0 } },
            metrics: { server: { ip: '127.0.0.1', port: 0 } },
            manager: { addrs: managerAddrs },
            seedPeer: { enable: true, sourcePolicy: { allow: [...LOOPBACK_RANGES] } },
            security: { insecure },
          },
        })
        const config = resolveDaemonConfig({
          file: flags.config,
          env: process.env,
          flags: { storage: { dir: join(root, 'daemon') }, manager: { addrs: managerAddrs }, security: { insecure } },
        })
        if (!insecure) {
          await ensureHostIdentity(manager.clusterCa.signer, seedConfig, 'seed')
          await ensureHostIdentity(manager.clusterCa.signer, config, 'normal')
        }
        const seed = await Daemon.create(seedConfig, { logger: fileLogger(logDir, 'seed-peer', 'info') })
        await seed.start()
        started.push(seed)
        const daemon = await Daemon.create(config, { logger: fileLogger(logDir, 'dfdaemon', 'info') })
        await daemon.start()
        started.push(daemon)
        const socket = config.download.server.socketPath
        process.stdout.write(
          [
            'Damselfly is up: a manager, a scheduler, a seed peer and a daemon.',
            `  data:      ${root}`,
            `  logs:      ${logDir}`,
            `  download:  dfget${socket === defaultSocketPath() ? '' : ` -e ${socket}`} <url> -O <file>`,
            `  mirror:    http://${daemon.proxy.address.replace('0.0.0.0', '127.0.0.1')} (damselfly config containerd|docker|podman)`,
            `  manager:   http://${manager.address ?? ''} (the console, and the REST and Open API; sign in as root)`,
            `             gRPC ${manager.grpcAddressBound ?? ''} (other daemons: dfdaemon --manager ${manager.grpcAddressBound ?? ''} --join-token <token>)`,
            `  scheduler: ${scheduler.address} (registered with the manager)`,
            insecure
              ? '  trust:     NONE (--insecure): no identities, no TLS, no capabilities'
              : '  trust:     mutual TLS; cluster CA held by the manager (POST /api/v1/join-tokens gives hosts join tokens)',
            `  metrics:   http://${daemon.metricsAddress.replace('0.0.0.0', '127.0.0.1')}/metrics`,
            'Press Ctrl-C to stop.',
            '',
          ].join('\n'),
        )
        await new Promise<void>((resolve) => {
          process.once('SIGINT', () => resolve())
          process.once('SIGTERM', () => resolve())
        })
        process.stdout.write('stopping...\n')
      } catch (error) {
        for (const part of started.reverse()) await part.stop().catch(() => undefined)
        fail('damselfly up', error)
      }
      for (const part of started.reverse()) await part.stop()
    })
}
