import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { Command } from 'commander'
import { pino } from 'pino'
import { createLogger, type Logger } from '../common/logger.js'
import type { Startable } from '../common/startable.js'
import { resolveDaemonConfig, type DaemonConfig } from '../daemon/config.js'
import { Daemon } from '../daemon/daemon.js'
import { identityDirOf } from '../daemon/host-identity.js'
import { defaultDataDir, defaultSocketPath } from '../daemon/paths.js'
import { advertisedIp } from '../daemon/scheduler-client/host-info.js'
import { resolveSchedulerConfig } from '../scheduler/config.js'
import { Scheduler } from '../scheduler/scheduler.js'
import { loadClusterPki, type ClusterPki } from '../security/cluster-pki.js'
import { certificateHostname, type Role } from '../security/identity.js'
import { issueLocalIdentity, readIdentity, writeIdentity } from '../security/local-identity.js'
import { fail } from './exit.js'

/** The ranges the seed of `damselfly up` may fetch from for the daemon beside it. */
const LOOPBACK_RANGES = ['127.0.0.0/8', '::1/128'] as const

interface UpFlags {
  config?: string
  dataDir?: string
  schedulerPort: string
  insecure?: boolean
}

/**
 * Gives a daemon of `damselfly up` its identity from the local cluster CA: the one it has when it
 * still fits (role, address, validity), a new one otherwise. Nothing for anyone to type.
 */
async function ensureIdentity(pki: ClusterPki, config: DaemonConfig, role: Role): Promise<void> {
  const dir = identityDirOf(config)
  const ip = advertisedIp(config.host.ip, config.upload.server.ip)
  const existing = await readIdentity(dir).catch(() => undefined)
  if (existing !== undefined && existing.identity.role === role && existing.identity.ips.includes(ip) && existing.caPem === pki.signer.certPem) return
  await writeIdentity(dir, await issueLocalIdentity(pki.signer, { role, hostname: certificateHostname(config.host.hostname, 'host'), ips: [ip] }))
}

function fileLogger(dir: string, name: string, level: 'info'): Logger {
  return createLogger({ level, name, destination: pino.destination({ dest: join(dir, `${name}.log`), mkdir: true, sync: false }) })
}

/**
 * `damselfly up`: a whole Damselfly on one machine in this one process, with embedded defaults:
 * a scheduler, a seed peer and a daemon. Data lives under one directory, logs go to files there,
 * and the terminal says how to use it. Ctrl-C stops everything, the daemon first.
 */
export function upCommand(): Command {
  return new Command('up')
    .description('start a local Damselfly (scheduler, seed peer and daemon) in the foreground')
    .option('-c, --config <path>', 'dfdaemon YAML config file for the daemon')
    .option('--data-dir <path>', 'where everything is stored', defaultDataDir())
    .option('--scheduler-port <port>', 'gRPC port of the scheduler', '8002')
    .option('--insecure', 'run without identities: no TLS, no capabilities (experiments only)')
    .action(async (flags: UpFlags) => {
      const started: Startable[] = []
      try {
        const root = flags.dataDir ?? defaultDataDir()
        const logDir = join(root, 'logs')
        mkdirSync(logDir, { recursive: true })
        const insecure = flags.insecure === true
        const schedulerConfig = resolveSchedulerConfig({
          env: process.env,
          flags: {
            server: { listenIP: '127.0.0.1', port: Number(flags.schedulerPort) },
            metrics: { port: 0 },
            // The cluster CA lives with everything else; the scheduler makes it on first start.
            security: { pkiDir: join(root, 'pki'), insecure },
          },
        })
        const scheduler = new Scheduler(schedulerConfig, { logger: fileLogger(logDir, 'scheduler', 'info') })
        await scheduler.start()
        started.push(scheduler)
        const schedulerAddrs = [scheduler.address]
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
            scheduler: { addrs: schedulerAddrs },
            seedPeer: { enable: true, sourcePolicy: { allow: [...LOOPBACK_RANGES] } },
            security: { insecure },
          },
        })
        const config = resolveDaemonConfig({
          file: flags.config,
          env: process.env,
          flags: { storage: { dir: join(root, 'daemon') }, scheduler: { addrs: schedulerAddrs }, security: { insecure } },
        })
        if (!insecure) {
          const pki = await loadClusterPki(schedulerConfig.security.pkiDir)
          await ensureIdentity(pki, seedConfig, 'seed')
          await ensureIdentity(pki, config, 'normal')
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
            'Damselfly is up: a scheduler, a seed peer and a daemon.',
            `  data:      ${root}`,
            `  logs:      ${logDir}`,
            `  download:  dfget${socket === defaultSocketPath() ? '' : ` -e ${socket}`} <url> -O <file>`,
            `  mirror:    http://${daemon.proxy.address.replace('0.0.0.0', '127.0.0.1')} (damselfly config containerd|docker|podman)`,
            `  scheduler: ${scheduler.address} (point other daemons at it with --scheduler)`,
            insecure
              ? '  trust:     NONE (--insecure): no identities, no TLS, no capabilities'
              : `  trust:     mutual TLS; cluster CA in ${schedulerConfig.security.pkiDir} (damselfly pki token create --dir ... gives hosts join tokens)`,
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
